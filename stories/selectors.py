"""Every read of stories, their media and consent goes through here, with the viewer."""

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.http import Http404

from cms.models import ProjectGroup
from cms.roles import Role, user_is_steward
from stories.models import Consent, StoryMedia, StoryPage, Storyteller


def _project_ids(user, role: Role) -> QuerySet:
    return ProjectGroup.objects.filter(group__user=user, role=role).values("project_id")


def stories_visible_to(*, user, project=None) -> QuerySet[StoryPage]:
    """Stewards see every story. A reporter sees their own stories in their projects. A
    facilitator sees the approved (live) stories of their projects. Nobody else sees any."""
    if not user.is_authenticated or not user.is_active:
        return StoryPage.objects.none()
    # A story whose consent was withdrawn is seen by nobody while it is being erased.
    stories = StoryPage.objects.filter(withdrawn=False)
    if not user_is_steward(user):
        own = Q(reporter=user) & _in_projects(_project_ids(user, Role.REPORTER))
        approved = Q(live=True) & _in_projects(_project_ids(user, Role.FACILITATOR))
        stories = stories.filter(own | approved)
    if project is not None:
        stories = stories.descendant_of(project)
    return stories.select_related("storyteller", "reporter").order_by("-first_published_at", "-pk")


def _in_projects(project_ids: QuerySet) -> Q:
    from cms.models import ProjectPage

    paths = ProjectPage.objects.filter(pk__in=project_ids).values_list("path", flat=True)
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(path__startswith=path)
    return query


def story_get_for_user(*, user, story_id) -> StoryPage:
    """The story, or 404 — never 403, so nobody learns that a story exists."""
    try:
        return stories_visible_to(user=user).get(pk=story_id)
    except (StoryPage.DoesNotExist, ValueError):
        raise Http404 from None


# Downstream apps (transcription) register here what only a data steward may play: an
# original whose words have since been redacted, a playable copy made before the latest
# redaction. Each takes and returns a StoryMedia queryset (see register_media_restriction).
_MEDIA_RESTRICTIONS: list[Callable[[QuerySet[StoryMedia]], QuerySet[StoryMedia]]] = []


def register_media_restriction(restrict: Callable[[QuerySet], QuerySet]) -> None:
    if restrict not in _MEDIA_RESTRICTIONS:
        _MEDIA_RESTRICTIONS.append(restrict)


def recordings_visible_to(*, user) -> QuerySet[StoryMedia]:
    """Original recordings are unredacted: only stewards and the story's own reporter (and
    the reporter not once something in it has been redacted: see _MEDIA_RESTRICTIONS)."""
    if not user.is_authenticated or not user.is_active:
        return StoryMedia.objects.none()
    media = StoryMedia.objects.select_related("story")
    if user_is_steward(user):
        return media
    own = stories_visible_to(user=user).filter(reporter=user)
    media = media.filter(story__in=own)
    for restrict in _MEDIA_RESTRICTIONS:
        media = restrict(media)
    return media


def story_media_get_for_user(*, user, media_id) -> StoryMedia:
    try:
        return recordings_visible_to(user=user).get(pk=media_id)
    except StoryMedia.DoesNotExist:
        raise Http404 from None


def story_player_media(*, user, story) -> tuple[StoryMedia | None, StoryMedia | None]:
    """What the viewer's player should play — the web-playable copy if there is one, else
    the original — and the video's still picture; (None, None) for those who may not hear
    the recording."""
    media = {m.role: m for m in recordings_visible_to(user=user).filter(story=story)}
    playable = media.get(StoryMedia.Role.PLAYABLE) or media.get(StoryMedia.Role.RECORDING)
    return playable, media.get(StoryMedia.Role.POSTER)


def consent_evidence_get_for_user(*, user, consent_id) -> Consent:
    """Evidence (a signed form, a spoken-consent recording): stewards and the story's
    reporter only."""
    if not user.is_authenticated or not user.is_active:
        raise Http404
    consents = Consent.objects.exclude(evidence="").select_related("story")
    if not user_is_steward(user):
        consents = consents.filter(story__in=stories_visible_to(user=user).filter(reporter=user))
    try:
        return consents.get(pk=consent_id)
    except (Consent.DoesNotExist, ValueError):
        raise Http404 from None


def consent_history_for_user(*, user, story: StoryPage) -> QuerySet[Consent]:
    story_get_for_user(user=user, story_id=story.pk)
    return story.consents.order_by("-version")


def storytellers_for_reporter(*, user, project) -> QuerySet[Storyteller]:
    """The storytellers a reporter has recorded (or created) in a project."""
    if not user.is_authenticated or not user.is_active:
        return Storyteller.objects.none()
    if user_is_steward(user):
        return Storyteller.objects.filter(project=project)
    if not _project_ids(user, Role.REPORTER).filter(project_id=project.pk).exists():
        return Storyteller.objects.none()
    return (
        Storyteller.objects.filter(project=project)
        .filter(Q(created_by=user) | Q(stories__reporter=user))
        .distinct()
    )


def consents_visible_to(*, user) -> QuerySet[Consent]:
    """Consent history: stewards see every version; a reporter those of their own stories."""
    if not user.is_authenticated or not user.is_active:
        return Consent.objects.none()
    consents = Consent.objects.select_related("story", "recorded_by")
    if user_is_steward(user):
        return consents
    return consents.filter(story__in=stories_visible_to(user=user).filter(reporter=user))


def storytellers_visible_to(*, user) -> QuerySet[Storyteller]:
    """Stewards see every storyteller; a reporter those they recorded, in their projects."""
    if not user.is_authenticated or not user.is_active:
        return Storyteller.objects.none()
    storytellers = Storyteller.objects.select_related("project")
    if user_is_steward(user):
        return storytellers
    return storytellers.filter(
        Q(created_by=user) | Q(stories__reporter=user),
        project__in=_project_ids(user, Role.REPORTER),
    ).distinct()
