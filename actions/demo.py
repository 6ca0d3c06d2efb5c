"""The demo's actions (seed_demo step "actions", after "workshops"): actions at several
statuses with updates, so that the dashboard and the public "You said, we did" page have
something to show in `make run`.

The accepted proposals of the workshop demo (turned into actions by our receiver) are given
owners, statuses and updates, and five more demo actions are added. Themes only
exist once the worker has transcribed the stories and found themes, so a task links the
actions to the themes later (and starts the theme run if nobody has)."""

import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from actions import selectors, services
from actions.models import Action, ActionVisibility
from cms.models import ProjectPage

THEME_WAIT_ATTEMPTS = 120  # one a minute: two hours for transcription and theme finding
THEME_WAIT_SECONDS = 60


@dataclass(frozen=True)
class DemoUpdate:
    days_ago: int
    text: str
    status: str | None = None
    progress: int | None = None
    evidence: bool = False


@dataclass(frozen=True)
class DemoAction:
    title: str
    description: str
    status: str  # where it starts
    start_days_ago: int
    due_in_days: int | None
    public_summary: str
    theme_words: frozenset[str]
    theme_wording: str
    owner: bool = True
    team: str = ""
    public: bool = True
    status_reason: str = ""
    updates: list[DemoUpdate] = field(default_factory=list)


DEMO_ACTIONS = [
    DemoAction(
        title="Text people when their appointment is running late",
        description="Reception sends a text message when an officer is running more than "
        "fifteen minutes late, and offers the quiet room instead of the main waiting room.",
        status="agreed",
        start_days_ago=30,
        due_in_days=20,
        team="Reception, Riverside office",
        public_summary="When your appointment is running late, we now send you a text, and "
        "you can wait in a quieter room.",
        theme_words=frozenset({"waiting", "wait", "room", "minutes", "late", "text", "chairs"}),
        theme_wording="Long waits in a busy waiting room",
        updates=[
            DemoUpdate(
                25,
                "Reception have the text message system. Trying it out this month.",
                status="in_progress",
            ),
            DemoUpdate(8, "Quiet room booked for Tuesday and Thursday mornings.", progress=70),
        ],
    ),
    DemoAction(
        title="Help with reading letters and forms at reception",
        description="Peer mentors at reception offer to read letters and fill in forms with "
        "people, in a private corner, without anyone having to ask.",
        status="agreed",
        start_days_ago=28,
        due_in_days=-6,  # overdue: the dashboard shows it, the owner gets a reminder
        team="Peer mentors, Riverside hub",
        public_summary="Peer mentors at reception can read letters and fill in forms with you.",
        theme_words=frozenset({"read", "letters", "forms", "ashamed", "mentor", "brew", "hub"}),
        theme_wording="Help with reading and forms",
        updates=[DemoUpdate(20, "Asked the peer mentors who could cover reception.")],
    ),
    DemoAction(
        title="Pay bus fares up front",
        description="Travel money for appointments paid in advance at reception, instead of "
        "a claim form afterwards.",
        status="agreed",
        start_days_ago=45,
        due_in_days=-10,
        team="Finance",
        public_summary="If you need help with bus fares to get to your appointment, we now "
        "give you the fare before you travel.",
        theme_words=frozenset({"bus", "fare", "money", "credit", "pounds", "meter", "skint"}),
        theme_wording="The cost of getting to appointments",
        updates=[
            DemoUpdate(40, "Finance agreed a small float at each reception.", status="in_progress"),
            DemoUpdate(
                14,
                "Fares now paid up front at all three offices. Leaflet attached.",
                status="done",
                evidence=True,
            ),
        ],
    ),
    DemoAction(
        title="A proper handover when your officer changes",
        description="A handover meeting with both officers when a case moves, and a short "
        "'what is going well' note on the file.",
        status="proposed",
        start_days_ago=10,
        due_in_days=60,
        owner=False,  # flagged: needs a manager to take it on
        public=False,
        public_summary="",
        theme_words=frozenset({"officer", "officers", "story", "again", "file", "handover"}),
        theme_wording="Having to tell your story again",
    ),
    DemoAction(
        title="Move the television out of the waiting room",
        description="Raised on the day: take the television out of the main waiting room.",
        status="proposed",
        start_days_ago=30,
        due_in_days=None,
        public_summary="We looked at moving the television, but decided to make a quiet room "
        "instead.",
        theme_words=frozenset({"waiting", "room", "telly", "sound"}),
        theme_wording="Long waits in a busy waiting room",
        updates=[
            DemoUpdate(
                12,
                "Not doing this: the quiet room (see the text-message action) answers the same "
                "need.",
                status="wont_do",
            )
        ],
        status_reason="The quiet room answers the same need, for less.",
    ),
]


# What happened next to the proposals the workshop demo accepted (their own titles stay).
WORKSHOP_PLANS = [
    DemoAction(
        title="",
        description="",
        status="agreed",
        start_days_ago=14,
        due_in_days=21,
        team="Employment workers",
        public_summary="",
        theme_words=frozenset(),
        theme_wording="",
        updates=[
            DemoUpdate(
                10, "Employment workers agreed a short guide for the letters.", status="in_progress"
            ),
            DemoUpdate(3, "Guide written; trying it at the Riverside office first.", progress=60),
        ],
    ),
    DemoAction(
        title="",
        description="",
        status="agreed",
        start_days_ago=14,
        due_in_days=-2,
        team="Through-the-gate team",
        public_summary="",
        theme_words=frozenset(),
        theme_wording="",
        updates=[DemoUpdate(9, "Talked to the council's housing team about a named contact.")],
    ),
]


def demo_evidence_pdf(text: str) -> bytes:
    """A one-page PDF saying `text`: the demo's evidence file (fictional)."""
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _users():
    User = get_user_model()
    return {u.username: u for u in User.objects.filter(username__in=["manager", "facilitator"])}


def demo_actions(result) -> None:
    """seed_demo step "actions"."""
    project = result.project
    if project is None:
        return
    users = _users()
    manager, facilitator = users.get("manager"), users.get("facilitator")
    made = _demo_write(project=project, manager=manager, facilitator=facilitator)
    transaction.on_commit(lambda: _queue_link(project.pk, 0))
    result.notes.append(
        f"Actions: {made} demo actions at several statuses, with updates (dashboard: "
        f"Reports → Actions dashboard; public page: /you-said-we-did/{project.slug}/). "
        "They are linked to themes once the worker has found them."
    )


@transaction.atomic
def _demo_write(*, project, manager, facilitator) -> int:
    made = 0
    from_workshop = Action.objects.filter(project=project, created_from_proposal=True)
    for action, plan in zip(from_workshop.order_by("pk"), WORKSHOP_PLANS, strict=False):
        fields = _fields(plan, manager=manager)
        fields["public_summary"] = action.public_summary or action.title
        action = services.action_edit(
            action=action,
            user=None,
            expected_version=None,
            status=services.status_by_key(plan.status) or action.status,
            **fields,
        )
        _updates(action, plan, manager=manager)
        made += 1
    for spec in DEMO_ACTIONS:
        action = services.action_create(
            project=project,
            user=facilitator,
            created_by=facilitator,
            title=spec.title,
            description=spec.description,
            status=services.status_by_key(spec.status),
            **_fields(spec, manager=manager),
        )
        _updates(action, spec, manager=manager)
        made += 1
    return made


def _fields(spec: DemoAction, *, manager) -> dict:
    today = timezone.localdate()
    due = today + timedelta(days=spec.due_in_days) if spec.due_in_days is not None else None
    return {
        "owner": manager if spec.owner else None,
        "team": spec.team,
        "start_date": today - timedelta(days=spec.start_days_ago),
        "due_date": due,
        "public_summary": spec.public_summary,
        "visibility": ActionVisibility.PUBLIC if spec.public else ActionVisibility.TEAM,
    }


def _updates(action: Action, spec: DemoAction, *, manager) -> None:
    today = timezone.localdate()
    for update in spec.updates:
        status = services.status_by_key(update.status) if update.status else None
        evidence = None
        if update.evidence:
            evidence = File(
                io.BytesIO(demo_evidence_pdf("Fictional demo evidence: bus fare leaflet.")),
                name="leaflet.pdf",
            )
        services.action_post_update(
            action=action,
            user=manager,
            text=update.text,
            status=status,
            status_reason=spec.status_reason if status and status.reason_required else None,
            progress=update.progress,
            evidence=evidence,
            on=today - timedelta(days=update.days_ago),
        )


def _queue_link(project_id: int, attempt: int) -> bool:
    from actions import tasks

    task = tasks.demo_actions_task
    if attempt and not task.get_backend().supports_defer:
        return False
    if attempt:
        task = task.using(run_after=timezone.now() + timedelta(seconds=THEME_WAIT_SECONDS))
    task.enqueue(project_id=project_id, attempt=attempt)
    return True


def _transcription_finished(project) -> bool:
    from themes.selectors import eligible_stories
    from transcription.models import JobStatus, TranscriptionJob

    stories = eligible_stories(project=project)
    return not TranscriptionJob.objects.filter(
        story__in=stories, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).exists()


def _score(words: frozenset[str], theme) -> int:
    found = {w.lower() for w in theme.keywords}
    found |= set(theme.auto_label.lower().replace("_", " ").split())
    return len(words & found)


def demo_link_themes(*, project_id: int, attempt: int = 0) -> dict:
    """Link the demo actions to the themes they answer, giving those themes public wording
    (as a facilitator would). Waits for the themes, starting a theme run once the stories
    are transcribed if nobody else has."""
    from themes import selectors as theme_selectors
    from themes import services as theme_services

    project = ProjectPage.objects.filter(pk=project_id).first()
    if project is None:
        return {"status": "gone"}
    run = theme_selectors.current_run(project=project)
    if run is None:
        # Start the first theme run if nobody has (the workshop demo may have).
        if theme_selectors.latest_run(project=project) is None and _transcription_finished(project):
            theme_services.theme_run_start(project=project, user=None)
        if attempt >= THEME_WAIT_ATTEMPTS or not _queue_link(project_id, attempt + 1):
            return {"status": "gave up waiting for themes"}
        return {"status": "waiting for themes", "attempt": attempt}
    themes = list(selectors.current_themes(project=project))
    facilitator = _users().get("facilitator")
    linked = 0
    by_title = {spec.title: spec for spec in DEMO_ACTIONS}
    for action in Action.objects.filter(project=project).order_by("pk"):
        if action.themes.exists():
            continue
        spec = by_title.get(action.title)
        words = spec.theme_words if spec else _words(action.title + " " + action.description)
        best = max(themes, key=lambda t: _score(words, t), default=None)
        if best is None or _score(words, best) == 0:
            continue
        if not best.label:
            # As a facilitator would: a name in plain words (the demo's own, or made from the
            # theme's key words for the workshop's proposals).
            wording = spec.theme_wording if spec else _wording(best)
            best = theme_services.theme_rename(theme=best, label=wording, user=facilitator)
        services.action_edit(action=action, user=None, expected_version=None, themes=[best])
        linked += 1
    return {"status": "linked", "actions": linked}


def _wording(theme) -> str:
    words = [str(w) for w in theme.keywords[:3]] or [theme.auto_label]
    if len(words) == 1:
        return words[0].capitalize()
    return f"{', '.join(words[:-1]).capitalize()} and {words[-1]}"


def _words(text: str) -> frozenset[str]:
    return frozenset(w.strip(".,;:'’").lower() for w in text.split() if len(w) > 3)
