"""Every write to workshops: creating a workshop, drafting its pack, exporting it (which
records when consent changes made it leave something out), and recording outcomes.
Keyword-only; each checks who is asking and writes to the audit log (on the workshop page,
so that its history tells the whole story)."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date as Date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify
from wagtail.log_actions import log

from cms.models import ProjectPage
from stories.models import StoryPage
from themes.models import Theme, ThemeAssignment
from themes.selectors import current_run, eligible_stories
from workshops import pack as packs
from workshops import selectors
from workshops.blocks import DEFAULT_QUESTIONS
from workshops.models import (
    Attendance,
    Audience,
    Decision,
    Proposal,
    SignificantStory,
    WorkshopPage,
)
from workshops.signals import proposal_accepted

NO_THEMES_MESSAGE = (
    "This project has no themes to build a pack from yet. Find themes first (Themes in the "
    "menu), then draft the pack."
)
EMPTY_PACK_MESSAGE = (
    "This pack is empty, so there is nothing to export yet. Add themes, quotes or questions, "
    "or press “Draft a pack”."
)
NOT_APPROVED_MESSAGE = (
    "This pack has not been approved by a data steward yet. You can read it once it has."
)
MAX_VOTES = 100_000


def _check_builder(*, user, workshop: WorkshopPage) -> None:
    if user is None or not selectors.can_edit_workshop(user=user, workshop=workshop):
        raise PermissionDenied(selectors.NO_EDIT_MESSAGE)


def _log(workshop: WorkshopPage, action: str, user, **data) -> None:
    log(instance=workshop, action=f"storyloom.workshops.{action}", user=user, data=data)


# --- Workshops and their packs ----------------------------------------------------------------


@transaction.atomic
def workshop_create(
    *,
    project: ProjectPage,
    user,
    title: str,
    date: Date | None = None,
    venue: str = "",
    audience: list[str] | tuple = (),
    objectives: str = "",
    facilitators: list | tuple = (),
    draft: bool = False,
) -> WorkshopPage:
    """A new workshop (a draft page under the project), optionally with a drafted pack."""
    if not selectors.can_build_packs(user=user, project=project):
        raise PermissionDenied(selectors.NO_EDIT_MESSAGE)
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Please give the workshop a name."})
    if len(title) > 255:
        raise ValidationError({"title": "Please use a shorter name (255 characters at most)."})
    unknown = [a for a in audience if a not in Audience.values]
    if unknown:
        raise ValidationError({"audience": "Please choose the audience from the list."})
    workshop = WorkshopPage(
        title=title,
        slug=_unique_slug(project, title),
        date=date,
        venue=venue.strip()[:200],
        audience=list(dict.fromkeys(audience)),
        objectives=objectives.strip(),
        owner=user,
        live=False,
    )
    project.add_child(instance=workshop)
    workshop.facilitators.set([user, *facilitators])
    workshop.save_revision(user=user, log_action=True)
    if draft:
        pack_draft(workshop=workshop, user=user)
    return workshop


def _unique_slug(project: ProjectPage, title: str) -> str:
    base = slugify(title)[:40] or "workshop"
    taken = set(project.get_children().values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _themes_by_storytellers(project: ProjectPage) -> list[Theme]:
    """The current run's shown themes, by how many different storytellers (of stories that
    may still be analysed) speak to each; then by size."""
    run = current_run(project=project)
    if run is None:
        return []
    themes = Theme.objects.filter(
        run=run, merged_into__isnull=True, split_into=[], hidden=False
    ).select_related("run")
    eligible = eligible_stories(project=project).values("pk")
    counts = defaultdict(set)
    rows = ThemeAssignment.objects.filter(theme__in=themes, story__in=eligible).values_list(
        "theme_id", "story__storyteller_id", "story_id"
    )
    for theme_id, teller, story_id in rows:
        counts[theme_id].add(teller if teller is not None else f"story-{story_id}")
    ranked = [t for t in themes if counts[t.pk]]
    ranked.sort(key=lambda t: (-len(counts[t.pk]), -t.size, t.pk))
    for theme in ranked:
        theme.distinct_storytellers = len(counts[theme.pk])
    return ranked


def draft_body(
    *, project: ProjectPage, objectives: str = "", max_themes: int = 5, quotes_per_theme: int = 3
) -> list[dict]:
    """A pack's body (StreamField data): an opening, then for each of the top themes its
    quotes (from different storytellers and roles) and discussion questions, then a vote."""
    themes = _themes_by_storytellers(project)[:max_themes]
    if not themes:
        raise ValidationError(NO_THEMES_MESSAGE)

    def block(kind: str, value) -> dict:
        return {"type": kind, "value": value, "id": str(uuid.uuid4())}

    intro = (
        "<h2>About this workshop</h2>"
        + "".join(f"<p>{escape(line)}</p>" for line in objectives.splitlines() if line.strip())
        + "<p>This pack shares what people told us about the service, in their own words. "
        "Nobody is named: names, places and numbers are shown as [name], [place] and "
        "[number].</p>"
    )
    body = [
        block("text", intro),
        block(
            "activity",
            {
                "template": "what_matters",
                "title": "",
                "instructions": "",
                "minutes": None,
                "materials": "",
                "notes": "",
            },
        ),
    ]
    used: set[int] = set()
    for theme in themes:
        quotes = packs.pick_quotes(theme, project, limit=quotes_per_theme, exclude=used)
        used |= {q.segment_id for q in quotes}
        notes = (
            ""
            if quotes
            else "No storyteller in this theme has agreed to be quoted in workshops. "
            "Talk about the theme from its description."
        )
        body.append(
            block(
                "theme",
                {
                    "theme": theme.pk,
                    "quotes": [q.segment_id for q in quotes],
                    "show_chart": True,
                    "minutes": 10,
                    "notes": notes,
                },
            )
        )
        body.append(
            block(
                "prompt",
                {
                    "heading": f"Talk about: {theme.display_label}",
                    "questions": list(DEFAULT_QUESTIONS),
                    "minutes": 15,
                    "notes": "",
                },
            )
        )
    body.append(
        block(
            "activity",
            {
                "template": "dot_voting",
                "title": "",
                "instructions": "",
                "minutes": None,
                "materials": "",
                "notes": "Record the votes in the outcomes after the workshop.",
            },
        )
    )
    return body


def pack_draft(
    *, workshop: WorkshopPage, user, max_themes: int = 5, quotes_per_theme: int = 3
) -> WorkshopPage:
    """Draft the pack from the project's themes, as a new revision of the page (the old
    pack stays in the page history). Returns the new version."""
    _check_builder(user=user, workshop=workshop)
    project = selectors.workshop_project(workshop)
    version = selectors.latest_version(workshop)
    version.body = draft_body(
        project=project,
        objectives=version.objectives,
        max_themes=max_themes,
        quotes_per_theme=quotes_per_theme,
    )
    with transaction.atomic():
        version.save_revision(user=user, log_action=True)
        _log(workshop, "pack_drafted", user, blocks=len(version.body))
        proposals_sync_from_pack(workshop=workshop, user=user, version=version)
    return version


# --- Export -----------------------------------------------------------------------------------


@dataclass
class PackExport:
    content: bytes
    content_type: str
    filename: str
    pack: packs.Pack


FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def pack_export(
    *,
    workshop: WorkshopPage,
    user=None,
    fmt: str = "pdf",
    variant: str = packs.PARTICIPANT,
    base_url: str | None = None,
) -> PackExport:
    """The pack, print-ready, as PDF or HTML. Consent is checked again now: anything no
    longer allowed is left out, the pack says so, and the workshop records when that
    happened (regenerated_at/regenerated_note). With no `user` (the command line), the
    latest saved version is exported."""
    from workshops import export

    if fmt not in FORMATS:
        raise ValidationError(f"Unknown format “{fmt}”: choose pdf or html.")
    if variant not in packs.VARIANTS:
        raise ValidationError(f"Unknown variant “{variant}”: choose participant or facilitator.")
    if user is None:
        version = selectors.latest_version(workshop)
    else:
        selectors.workshop_get_for_user(user=user, workshop_id=workshop.pk)
        if variant == packs.FACILITATOR and not selectors.can_edit_workshop(
            user=user, workshop=workshop
        ):
            raise PermissionDenied("The facilitator guide is for the workshop's facilitators.")
        version = selectors.pack_version_for_user(user=user, workshop=workshop)
        if version is None:
            raise ValidationError(NOT_APPROVED_MESSAGE)
    base = (base_url or settings.WAGTAILADMIN_BASE_URL).rstrip("/")
    pack = packs.resolve_pack(
        workshop=workshop,
        version=version,
        variant=variant,
        charts="svg",
        clip_link=lambda clip: base + reverse("workshops:clip", args=[workshop.pk, clip.pk]),
        qr_codes=True,
    )
    if pack.is_empty:
        raise ValidationError(EMPTY_PACK_MESSAGE)
    if pack.left_out:
        workshop_mark_regenerated(workshop=workshop, pack=pack, user=user)
    html = export.render_html(pack)
    content = html.encode("utf-8") if fmt == "html" else export.html_to_pdf(html)
    filename = f"{slugify(workshop.title)[:50] or 'workshop'}-{variant}.{fmt}"
    _log(workshop, "export", user, format=fmt, variant=variant, left_out=len(pack.left_out))
    return PackExport(content=content, content_type=FORMATS[fmt], filename=filename, pack=pack)


def workshop_mark_regenerated(*, workshop: WorkshopPage, pack: packs.Pack, user=None) -> None:
    """Record that the pack was made again without material that may no longer be used."""
    note = (
        f"Made again on {timezone.localtime(pack.generated_at):%d %B %Y at %H:%M} without "
        f"{pack.left_out_summary()} that may no longer be used:\n"
        + "\n".join(f"- {item.reason}" for item in pack.left_out)
    )
    WorkshopPage.objects.filter(pk=workshop.pk).update(
        regenerated_at=pack.generated_at, regenerated_note=note
    )
    workshop.regenerated_at, workshop.regenerated_note = pack.generated_at, note
    _log(workshop, "regenerated", user, left_out=[item.what for item in pack.left_out])


# --- Outcomes ---------------------------------------------------------------------------------


def _pack_quotes_by_theme(version, project) -> dict[int, list[int]]:
    """The quotes a pack shows under each (current) theme."""
    quotes = defaultdict(list)
    for block in version.body:
        if block.block_type != "theme":
            continue
        resolved = packs.resolve_theme(block.value["theme"], project)
        if resolved.theme is not None:
            quotes[resolved.theme.pk] += [s.pk for s in block.value["quotes"] if s is not None]
    return quotes


@transaction.atomic
def proposals_sync_from_pack(*, workshop: WorkshopPage, user, version=None) -> list[Proposal]:
    """One proposal per "proposed change" in the pack, kept in step with it: linked to its
    themes (the project's current ones) and to the pack's quotes for those themes. Decided
    proposals keep their wording; undecided ones whose block has gone are removed."""
    version = version or selectors.latest_version(workshop)
    project = selectors.workshop_project(workshop)
    existing = {p.block_id: p for p in workshop.proposals.filter(from_pack=True)}
    quotes_by_theme = _pack_quotes_by_theme(version, project)
    quotable = set(
        selectors.quotable_segments(project=project)
        .filter(pk__in=[q for qs in quotes_by_theme.values() for q in qs])
        .values_list("pk", flat=True)
    )
    kept = []
    for block in version.body:
        if block.block_type != "proposed_change" or not block.id:
            continue
        value = block.value
        themes = [
            resolved.theme
            for resolved in (packs.resolve_theme(t, project) for t in value["themes"])
            if resolved.theme is not None
        ]
        proposal = existing.pop(block.id, None)
        if proposal is None:
            proposal = Proposal.objects.create(
                workshop=workshop,
                title=value["title"][:255],
                description=value["description"] or "",
                from_pack=True,
                block_id=block.id,
            )
            _log(workshop, "proposal_added", user, proposal=proposal.pk, from_pack=True)
        elif proposal.decision == Decision.PENDING:
            proposal.title = value["title"][:255]
            proposal.description = value["description"] or ""
            proposal.save(update_fields=["title", "description"])
        if proposal.decision == Decision.PENDING:
            proposal.themes.set(themes)
            proposal.quotes.set(
                [q for t in themes for q in quotes_by_theme.get(t.pk, []) if q in quotable]
            )
        kept.append(proposal)
    for proposal in existing.values():
        if proposal.decision == Decision.PENDING and not _has_votes(proposal):
            _log(workshop, "proposal_removed", user, proposal=proposal.pk)
            proposal.delete()
    return kept


def _has_votes(proposal: Proposal) -> bool:
    return bool(proposal.votes_for or proposal.votes_against or proposal.votes_abstain)


@transaction.atomic
def proposal_add(
    *, workshop: WorkshopPage, user, title: str, description: str = "", themes=()
) -> Proposal:
    """A proposal raised on the day."""
    _check_builder(user=user, workshop=workshop)
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Please write the proposed change."})
    if len(title) > 255:
        raise ValidationError({"title": "Please shorten the proposal (255 characters at most)."})
    project = selectors.workshop_project(workshop)
    themes = list(themes)
    if any(t.project_id != project.pk for t in themes):
        raise ValidationError({"themes": "Please choose themes of this project."})
    proposal = Proposal.objects.create(
        workshop=workshop, title=title, description=(description or "").strip()
    )
    proposal.themes.set(themes)
    _log(workshop, "proposal_added", user, proposal=proposal.pk, from_pack=False)
    return proposal


@transaction.atomic
def proposal_link_themes(*, proposal: Proposal, user, themes) -> Proposal:
    """Say which of the project's themes a proposal answers."""
    _check_builder(user=user, workshop=proposal.workshop)
    project = selectors.workshop_project(proposal.workshop)
    themes = list(themes)
    if any(t.project_id != project.pk for t in themes):
        raise ValidationError({"themes": "Please choose themes of this project."})
    proposal.themes.set(themes)
    _log(
        proposal.workshop,
        "proposal_themes",
        user,
        proposal=proposal.pk,
        themes=[t.pk for t in themes],
    )
    return proposal


def _count(value, label: str) -> int:
    try:
        number = int(str(value).strip() or 0)
    except (TypeError, ValueError):
        raise ValidationError(f"{label}: please write a whole number, 0 or more.") from None
    if number < 0 or number > MAX_VOTES:
        raise ValidationError(f"{label}: please write a whole number, 0 or more.")
    return number


REASON_NEEDED = {
    Decision.REJECTED: "Please say why the proposal was rejected.",
    Decision.DEFERRED: "Please say why the proposal was deferred, and until when.",
}


def proposal_decide(
    *,
    proposal: Proposal,
    user,
    decision: str,
    reasons: str = "",
    votes_for=None,
    votes_against=None,
    votes_abstain=None,
) -> Proposal:
    """Record the votes and the decision. Rejected and deferred need reasons. The first time
    a proposal is accepted, `proposal_accepted` is sent once the transaction commits (the
    actions app makes an action of it); it is never sent twice for one proposal."""
    _check_builder(user=user, workshop=proposal.workshop)
    if decision not in Decision.values:
        raise ValidationError("Please choose a decision.")
    reasons = (reasons or "").strip()
    if decision in REASON_NEEDED and not reasons:
        raise ValidationError(REASON_NEEDED[decision])
    votes = {
        name: _count(value, label)
        for name, value, label in [
            ("votes_for", votes_for, "Votes for"),
            ("votes_against", votes_against, "Votes against"),
            ("votes_abstain", votes_abstain, "Abstentions"),
        ]
        if value is not None
    }
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        changed = locked.decision != decision or locked.reasons != reasons
        for name, value in votes.items():
            setattr(locked, name, value)
        locked.reasons = reasons
        if changed:
            locked.decision = decision
            if decision == Decision.PENDING:
                locked.decided_by, locked.decided_at = None, None
            else:
                locked.decided_by, locked.decided_at = user, timezone.now()
        notify = locked.decision == Decision.ACCEPTED and locked.accepted_notified_at is None
        if notify:
            locked.accepted_notified_at = timezone.now()
        locked.save()
        if changed or votes:
            _log(
                locked.workshop,
                "proposal_decided",
                user,
                proposal=locked.pk,
                decision=locked.decision,
                **votes,
            )
        if notify:
            proposal_id, who = locked.pk, user
            transaction.on_commit(
                lambda: proposal_accepted.send(sender=Proposal, proposal_id=proposal_id, user=who)
            )
    for name in ("decision", "reasons", "decided_by", "decided_at", "accepted_notified_at"):
        setattr(proposal, name, getattr(locked, name))
    for name, value in votes.items():
        setattr(proposal, name, value)
    return proposal


@transaction.atomic
def attendance_record(*, workshop: WorkshopPage, user, counts: dict) -> list[Attendance]:
    """How many came from each audience group (0 or blank: none)."""
    _check_builder(user=user, workshop=workshop)
    labels = dict(Audience.choices)
    clean = {}
    for group, value in counts.items():
        if group not in labels:
            raise ValidationError("Please choose the audience group from the list.")
        clean[group] = _count(value, labels[group])
    for group, number in clean.items():
        if number:
            Attendance.objects.update_or_create(
                workshop=workshop, group=group, defaults={"count": number}
            )
        else:
            Attendance.objects.filter(workshop=workshop, group=group).delete()
    _log(workshop, "attendance", user, counts=clean)
    return list(workshop.attendance.all())


@dataclass
class ProposalOutcome:
    proposal: Proposal
    decision: str
    reasons: str = ""
    votes_for: object = 0
    votes_against: object = 0
    votes_abstain: object = 0


def outcomes_record(
    *, workshop: WorkshopPage, user, attendance: dict, proposals: list[ProposalOutcome]
) -> None:
    """Attendance and every proposal's votes and decision, all or nothing: a problem with
    any of them is reported (by proposal) and nothing is saved."""
    _check_builder(user=user, workshop=workshop)
    errors: dict[str, list[str]] = {}
    for outcome in proposals:
        if outcome.proposal.workshop_id != workshop.pk:
            raise PermissionDenied("That proposal belongs to another workshop.")
    with transaction.atomic():
        try:
            attendance_record(workshop=workshop, user=user, counts=attendance)
        except ValidationError as error:
            errors["attendance"] = error.messages
        for outcome in proposals:
            try:
                with transaction.atomic():
                    proposal_decide(
                        proposal=outcome.proposal,
                        user=user,
                        decision=outcome.decision,
                        reasons=outcome.reasons,
                        votes_for=outcome.votes_for,
                        votes_against=outcome.votes_against,
                        votes_abstain=outcome.votes_abstain,
                    )
            except ValidationError as error:
                errors[f"proposal-{outcome.proposal.pk}"] = error.messages
        if errors:
            # Nothing is kept, and no signal goes out (on_commit callbacks are dropped).
            transaction.set_rollback(True)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def significant_story_add(
    *, workshop: WorkshopPage, user, story: StoryPage, why: str
) -> SignificantStory:
    """Most Significant Change: a story participants chose, and why."""
    _check_builder(user=user, workshop=workshop)
    why = (why or "").strip()
    if not selectors.stories_in_workshop(workshop=workshop).filter(pk=story.pk).exists():
        raise ValidationError({"story": "Please choose one of the stories quoted in this pack."})
    if not why:
        raise ValidationError({"why": "Please write why participants chose this story."})
    chosen = SignificantStory.objects.create(workshop=workshop, story=story, why=why)
    _log(workshop, "significant_story", user, story=story.pk)
    return chosen


@transaction.atomic
def significant_story_remove(*, chosen: SignificantStory, user) -> None:
    _check_builder(user=user, workshop=chosen.workshop)
    _log(chosen.workshop, "significant_story_removed", user, story=chosen.story_id)
    chosen.delete()
