"""Reads for workshops, always with the viewer: who may see and build which packs, what the
choosers may offer, and whether a piece of pack material may still be used.

Pack material rules (checked when a chooser lists it and again every time a pack is shown
or exported): the story is approved (live) and in the workshop's project, its transcript is
the current one, and the storyteller's current consent includes "quote in workshops"; a
clip's sound also needs "play my voice or video in workshops"."""

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from cms.models import ProjectPage
from cms.roles import Role, user_is_steward
from cms.selectors import project_roles_for_user, projects_for_user
from stories.models import Consent, StoryPage
from stories.selectors import stories_visible_to
from themes.models import Theme
from transcription.models import Clip, ClipStatus, Segment
from workshops.models import Proposal, WorkshopPage

# Facilitators build packs and record outcomes (stewards may too); every member reads them.
BUILDER_ROLES = {Role.FACILITATOR, Role.STEWARD}
READER_ROLES = {Role.FACILITATOR, Role.STEWARD, Role.MANAGER, Role.REPORTER}

NO_EDIT_MESSAGE = "Only the project's facilitators can change workshop packs and outcomes."


# --- Who may do what --------------------------------------------------------------------------


def can_build_packs(*, user, project: ProjectPage) -> bool:
    return bool(project_roles_for_user(user=user, project=project) & BUILDER_ROLES)


def can_read_packs(*, user, project: ProjectPage) -> bool:
    return bool(project_roles_for_user(user=user, project=project) & READER_ROLES)


def can_edit_workshop(*, user, workshop: WorkshopPage) -> bool:
    return can_build_packs(user=user, project=workshop_project(workshop))


def workshop_project(workshop: WorkshopPage) -> ProjectPage:
    return ProjectPage.objects.ancestor_of(workshop).get()


def builder_projects(*, user) -> QuerySet[ProjectPage]:
    """Projects where the user builds packs: a facilitator there, or a data steward."""
    if user.is_authenticated and user.is_active and user_is_steward(user):
        return projects_for_user(user=user)
    return projects_for_user(user=user, role=Role.FACILITATOR)


def _under(projects) -> Q:
    query = Q(pk__in=[])
    for path in projects.values_list("path", flat=True):
        query |= Q(path__startswith=path)
    return query


def workshops_visible_to(*, user, project: ProjectPage | None = None) -> QuerySet[WorkshopPage]:
    """The workshops of every project the user takes part in (any role); none for others."""
    projects = projects_for_user(user=user)
    if project is not None:
        projects = projects.filter(pk=project.pk)
    return WorkshopPage.objects.filter(_under(projects)).order_by("-date", "-pk")


def workshop_get_for_user(*, user, workshop_id) -> WorkshopPage:
    """The workshop, or 404 — never 403 — for anyone outside its project."""
    try:
        return workshops_visible_to(user=user).get(pk=workshop_id)
    except (WorkshopPage.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def pack_version_for_user(*, user, workshop: WorkshopPage) -> WorkshopPage | None:
    """The version of the pack the viewer reads: builders work on the latest saved version;
    everyone else reads the version a data steward approved (published), or nothing yet."""
    if can_edit_workshop(user=user, workshop=workshop):
        return latest_version(workshop)
    if not workshop.live:
        return None
    return workshop


def latest_version(workshop: WorkshopPage) -> WorkshopPage:
    """The latest saved version (read afresh: the instance in hand may be stale)."""
    if workshop.pk is None:
        return workshop
    stored = WorkshopPage.objects.get(pk=workshop.pk)
    latest = stored.get_latest_revision_as_object()
    return latest if isinstance(latest, WorkshopPage) else stored


# --- Consent -------------------------------------------------------------------------------


def _consent(scope: str, story: str = "story") -> Subquery:
    latest = Consent.objects.filter(story=OuterRef(story)).order_by("-version")
    return Subquery(latest.values(scope)[:1])


def quotable_segments(*, project: ProjectPage) -> QuerySet[Segment]:
    """Segments that may be quoted in this project's workshops right now (no viewer: this is
    the consent rule itself; choosers and packs add the viewer's own limits)."""
    return (
        Segment.objects.filter(
            transcript__is_current=True,
            story__live=True,
            story__path__startswith=project.path,
        )
        .exclude(text="")
        .annotate(quote_given=_consent("quote"))
        .filter(quote_given=True)
    )


def usable_clips(*, project: ProjectPage) -> QuerySet[Clip]:
    """Clips that may be shown in this project's workshops: as for quotes, and the clip was
    cut from the story's current transcript and did not fail. `voice_given` says whether
    its sound may be played."""
    return (
        Clip.objects.filter(
            transcript__is_current=True,
            story__live=True,
            story__path__startswith=project.path,
        )
        .exclude(status=ClipStatus.FAILED)
        .annotate(quote_given=_consent("quote"), voice_given=_consent("voice"))
        .filter(quote_given=True)
    )


def clip_can_play(clip: Clip) -> bool:
    """The clip's sound may be played now: consent to be heard, a finished file, and (the
    clips app's rule) no redaction accepted since it was made."""
    if not getattr(clip, "voice_given", False):
        return False
    if clip.status != ClipStatus.DONE or not clip.file:
        return False
    playable = _transcription_selector("clip_playable")
    return playable(clip) if playable else True


def _transcription_selector(name: str):
    """A clip selector of the transcription app (issue 4), wherever it lives."""
    from transcription import selectors as transcription_selectors

    found = getattr(transcription_selectors, name, None)
    if found is None:
        try:
            from transcription import clip_services
        except ImportError:
            return None
        found = getattr(clip_services, name, None)
    return found


# --- What the choosers offer ------------------------------------------------------------------


def themes_for_chooser(*, user) -> QuerySet[Theme]:
    """Current, shown themes of the projects where the user builds packs."""
    projects = builder_projects(user=user)
    return (
        Theme.objects.filter(
            project__in=projects,
            run__is_current=True,
            merged_into__isnull=True,
            split_into=[],
            hidden=False,
        )
        .select_related("project")
        .order_by("project__title", "-storyteller_count", "-size", "pk")
    )


def segments_for_chooser(*, user) -> QuerySet[Segment]:
    """Quotable segments of stories the user may see, in projects where they build packs."""
    visible = stories_visible_to(user=user).values("pk")
    query = Q(pk__in=[])
    for project in builder_projects(user=user):
        query |= Q(pk__in=quotable_segments(project=project).values("pk"))
    return (
        Segment.objects.filter(query, story__in=visible)
        .select_related("story", "story__storyteller")
        .prefetch_related("redactions")
        .order_by("story_id", "index")
    )


def _clips_visible_to(*, user) -> QuerySet[Clip]:
    """The clips app's own rule when it is there (issue 4), else the stories the user sees."""
    visible = _transcription_selector("clips_visible_to")
    if visible is None:
        return Clip.objects.filter(story__in=stories_visible_to(user=user).values("pk"))
    return visible(user=user)


def clips_for_chooser(*, user) -> QuerySet[Clip]:
    visible = _clips_visible_to(user=user).values("pk")
    query = Q(pk__in=[])
    for project in builder_projects(user=user):
        query |= Q(pk__in=usable_clips(project=project).values("pk"))
    return (
        Clip.objects.filter(query, pk__in=visible)
        .annotate(voice_given=_consent("voice"))
        .select_related("story")
        .order_by("-created_at", "-pk")
    )


# --- Outcomes ----------------------------------------------------------------------------------


def proposals_for_user(*, user, workshop: WorkshopPage) -> QuerySet[Proposal]:
    workshop_get_for_user(user=user, workshop_id=workshop.pk)
    return workshop.proposals.prefetch_related("themes").order_by("-from_pack", "pk")


def stories_in_workshop(*, workshop: WorkshopPage) -> QuerySet[StoryPage]:
    """Stories whose words are in the pack and may still be quoted: what participants can
    name as most significant."""
    from workshops.pack import material_ids

    project = workshop_project(workshop)
    ids = material_ids(latest_version(workshop))
    quotable = quotable_segments(project=project).filter(pk__in=ids["segments"])
    clips = usable_clips(project=project).filter(pk__in=ids["clips"])
    return StoryPage.objects.filter(
        Q(pk__in=quotable.values("story_id")) | Q(pk__in=clips.values("story_id"))
    ).order_by("pk")
