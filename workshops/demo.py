"""The demo's held workshop (a seed_demo step). Its outcomes are written at once, so that
the actions demo step finds accepted proposals; its pack needs themes, which the worker
finds only after transcribing the demo stories, so a task drafts the pack when they are
there (and starts the theme run itself if nobody has)."""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from cms.models import ProjectPage
from stories.models import MediaState, StoryPage
from themes.models import RunStatus, Theme, ThemeAssignment, ThemeRun
from workshops import services
from workshops.models import Audience, Decision, WorkshopPage

logger = logging.getLogger(__name__)

TITLE = "Managers and staff workshop: what helps people on probation"
RETRY_SECONDS = 30
MAX_ATTEMPTS = 120  # an hour of waiting for transcripts and themes

# Raised on the day: (title, description, decision, reasons, votes for/against/abstain,
# words that say which theme it answers).
ON_THE_DAY = [
    (
        "Help with disclosure letters at every office",
        "Employment workers help each person write their own disclosure letter.",
        Decision.ACCEPTED,
        "",
        (12, 1, 1),
        {
            "job",
            "jobs",
            "letter",
            "interview",
            "employer",
            "disclosure",
            "conviction",
            "convictions",
        },
    ),
    (
        "A named housing contact for everyone leaving prison",
        "One person to call about housing in the first month after release.",
        Decision.ACCEPTED,
        "",
        (11, 2, 1),
        {"housing", "hostel", "flat", "landlord", "release", "prison", "sofa", "homeless"},
    ),
    (
        "Evening appointments once a month",
        "For people who work days.",
        Decision.DEFERRED,
        "It needs a staffing plan first. The team will bring one to the March workshop.",
        (8, 3, 3),
        {"appointment", "work", "time"},
    ),
    (
        "Move all appointments online",
        "",
        Decision.REJECTED,
        "People told us that meeting face to face matters. Online stays an option, not the rule.",
        (2, 10, 2),
        {"appointment", "officer"},
    ),
]


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()


def demo_workshop(result) -> None:
    project: ProjectPage | None = result.project
    facilitator, steward = _user("facilitator"), _user("steward")
    if project is None or facilitator is None or steward is None:
        return
    if WorkshopPage.objects.descendant_of(project).filter(title=TITLE).exists():
        return
    workshop = services.workshop_create(
        project=project,
        user=facilitator,
        title=TITLE,
        date=timezone.localdate() - timedelta(days=14),
        venue="The hub, meeting room 2 (fictional)",
        audience=[Audience.MANAGERS, Audience.CASE_MANAGERS, Audience.VOLUNTEERS],
        objectives="Hear what people on probation and staff told our reporters, and agree "
        "two or three changes to try.",
    )
    services.attendance_record(
        workshop=workshop,
        user=facilitator,
        counts={Audience.MANAGERS: 4, Audience.CASE_MANAGERS: 7, Audience.VOLUNTEERS: 3},
    )
    for title, description, decision, reasons, votes, _ in ON_THE_DAY:
        proposal = services.proposal_add(
            workshop=workshop, user=facilitator, title=title, description=description
        )
        services.proposal_decide(
            proposal=proposal,
            user=facilitator,
            decision=decision,
            reasons=reasons,
            votes_for=votes[0],
            votes_against=votes[1],
            votes_abstain=votes[2],
        )
    workshop.refresh_from_db()
    workshop.latest_revision.publish(user=steward)
    _enqueue(workshop_id=workshop.pk, attempt=1)
    result.notes.append(
        f"Workshop: “{TITLE}”, held two weeks ago, with its attendance, votes and decisions "
        "(two proposals accepted). Its pack is drafted from the themes once the worker has "
        "transcribed the stories and found the themes (a few minutes)."
    )


def _enqueue(*, workshop_id: int, attempt: int) -> None:
    from django.db import transaction

    from workshops import tasks

    def enqueue():
        when = timezone.now() + timedelta(seconds=RETRY_SECONDS if attempt > 1 else 5)
        try:
            tasks.demo_pack_task.using(run_after=when).enqueue(
                workshop_id=workshop_id, attempt=attempt
            )
        except Exception:  # a backend that cannot defer: try now, and again later
            tasks.demo_pack_task.enqueue(workshop_id=workshop_id, attempt=attempt)

    transaction.on_commit(enqueue)


def _words(text: str) -> set[str]:
    return {w.strip(".,;:!?'\"()").lower() for w in text.split()}


def _theme_words(theme: Theme) -> set[str]:
    from transcription.redaction import redacted_text

    text = " ".join(
        redacted_text(a.segment)
        for a in ThemeAssignment.objects.filter(theme=theme).select_related("segment")
    )
    return _words(" ".join(theme.keywords) + " " + theme.display_label + " " + text)


def _best_theme(themes: list[Theme], words: set[str]) -> Theme | None:
    """The theme whose words (keywords and quotes) share most with a proposal's."""
    scores = {theme.pk: len(_theme_words(theme) & words) for theme in themes}
    best = max(themes, key=lambda t: scores[t.pk], default=None)
    return best if best is not None and scores[best.pk] else None


def demo_pack(*, workshop_id: int, attempt: int) -> dict:
    """Draft the demo workshop's pack once the project has themes; until then, wait (and
    start the theme run when the transcripts are done and nobody has)."""
    workshop = WorkshopPage.objects.filter(pk=workshop_id).first()
    facilitator, steward = _user("facilitator"), _user("steward")
    if workshop is None or facilitator is None or steward is None:
        return {"workshop": workshop_id, "status": "gone"}
    project = ProjectPage.objects.ancestor_of(workshop).get()
    run = ThemeRun.objects.filter(project=project, is_current=True).first()
    themes = (
        list(Theme.objects.filter(run=run, merged_into__isnull=True, split_into=[], hidden=False))
        if run
        else []
    )
    if not themes:
        if attempt >= MAX_ATTEMPTS:
            logger.warning("The demo workshop's pack was not drafted: no themes were found.")
            return {"workshop": workshop_id, "status": "no themes"}
        busy = (
            StoryPage.objects.live()
            .descendant_of(project)
            .filter(media_state__in=[MediaState.WAITING, MediaState.PROCESSING])
        )
        runs = ThemeRun.objects.filter(project=project)
        active = runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        if runs.exists() and not active.exists():
            # A run finished and left no themes to show (or failed): a person can draft the
            # pack later; the demo does not start run after run.
            logger.warning("The demo workshop's pack was not drafted: no themes were found.")
            return {"workshop": workshop_id, "status": "no themes"}
        if not busy.exists() and not runs.exists():
            from themes.services import theme_run_start

            theme_run_start(project=project, user=facilitator)
        _enqueue(workshop_id=workshop_id, attempt=attempt + 1)
        return {"workshop": workshop_id, "status": "waiting", "attempt": attempt}

    services.pack_draft(workshop=workshop, user=facilitator)
    for proposal in workshop.proposals.filter(from_pack=False):
        words = next((w for t, _, _, _, _, w in ON_THE_DAY if t == proposal.title), set())
        theme = _best_theme(themes, words)
        if theme is not None:
            services.proposal_link_themes(proposal=proposal, user=facilitator, themes=[theme])
    workshop.refresh_from_db()
    workshop.latest_revision.publish(user=steward)
    return {"workshop": workshop_id, "status": "drafted", "themes": len(themes)}
