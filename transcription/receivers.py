"""What transcription does when stories announce something, and the panel it adds to the
story pages (registered in apps.py)."""

import logging

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from stories.models import StoryMedia, StoryPage
from stories.selectors import stories_visible_to
from transcription import selectors, services
from transcription.models import JobStatus

logger = logging.getLogger(__name__)


def on_story_media_added(sender, *, story_id, media_id=None, wait=False, **kwargs):
    """A story's recording (media_id) or written text (media_id None) is ready: queue its
    job, or with `wait` (import_stories --wait) do it now, in this process."""
    story = StoryPage.objects.filter(pk=story_id).first()
    if story is None:
        return
    media = StoryMedia.objects.filter(pk=media_id).first() if media_id else None
    try:
        job = services.job_enqueue(story=story, media=media)
    except ValidationError as error:
        # Say so on the story, rather than leave it waiting for ever.
        services.story_not_transcribed(story_id=story.pk, message=error.messages[0])
        return
    if wait and job.status == JobStatus.QUEUED:
        services.job_run_until_finished(job_id=job.pk)


def transcription_panel(*, story, user, compact=False) -> str:
    """Progress, failures and (on the story's own page) the transcript's segments."""
    if not stories_visible_to(user=user).filter(pk=story.pk).exists():
        return ""
    job = selectors.latest_job(story)
    if job is None:
        return ""
    context = {"story": story, "job": job, "progress": selectors.progress_of(job)}
    if compact:
        return render_to_string("transcription/_progress.html", context)
    segments = list(
        selectors.segments_for_user(user=user, story_id=story.pk).prefetch_related("redactions")
    )
    can_edit = selectors.transcript_editable_by(user=user, story=story)
    if segments and not can_edit:
        # Only the story's reporter and stewards read the words unredacted (issue 4).
        from transcription.redaction import redacted_text

        for segment in segments:
            segment.shown_text = redacted_text(segment)
    else:
        for segment in segments:
            segment.shown_text = segment.text
    context["segments"] = segments
    context["can_edit_transcript"] = can_edit
    context["playable_being_prepared"] = selectors.playable_being_prepared(user=user, story=story)
    return render_to_string("transcription/_story_panel.html", context)


def transcription_panels(*, stories, user, compact=False) -> dict[int, str]:
    """transcription_panel for a page of a list of stories, by story id, in a few queries."""
    from transcription.models import TranscriptionJob

    stories = list(stories)
    if not compact:
        return {story.pk: transcription_panel(story=story, user=user) for story in stories}
    ids = [story.pk for story in stories]
    visible = set(stories_visible_to(user=user).filter(pk__in=ids).values_list("pk", flat=True))
    latest: dict[int, TranscriptionJob] = {}
    for job in (
        TranscriptionJob.objects.filter(story_id__in=visible)
        .select_related("media")
        .order_by("story_id", "-created_at", "-pk")
    ):
        latest.setdefault(job.story_id, job)
    found = {}
    for story in stories:
        job = latest.get(story.pk)
        if job is not None:
            context = {"story": story, "job": job, "progress": selectors.progress_of(job)}
            found[story.pk] = render_to_string("transcription/_progress.html", context)
    return found


transcription_panel.many = transcription_panels  # see stories.panels.story_panels_many


def on_transcript_ready(sender, *, story_id, transcript_id=None, **kwargs):
    """A story has a new transcript: look for personal data in it, so the reporter finds
    suggestions waiting when they open it. Quick (patterns and word lists), so done here;
    a failure is logged and must not stop the other receivers."""
    from transcription.models import Transcript
    from transcription.redaction_services import redaction_suggest

    transcript = Transcript.objects.filter(pk=transcript_id, story_id=story_id).first()
    if transcript is None:
        return
    try:
        redaction_suggest(transcript=transcript)
    except Exception:  # noqa: BLE001 — send_robust would swallow it without a word
        logger.exception("Story %s: redaction suggestions could not be made", story_id)


# --- Redacted sound and clips (issue 4: AUDIO+CLIPS) ---------------------------------------


def on_redactions_changed(sender, *, story_id, **kwargs):
    """A story's accepted redactions changed: new words for its clips now, and its playable
    copy and clips' sound made again (tasks). Meanwhile the old sound is held back from all
    but data stewards (selectors.restrict_unredacted_media, selectors.clip_playable)."""
    from transcription import clip_services

    try:
        clip_services.redacted_media_refresh(story_id=story_id)
    except Exception:  # send_robust would swallow it without a word
        # The old sound stays held back (selectors), and the workers' sweep queues it again.
        logger.exception("Story %s: redacted copies could not be queued", story_id)


def _connect_redacted_media() -> None:
    from stories.selectors import register_media_restriction
    from transcription.signals import redactions_changed

    redactions_changed.connect(
        on_redactions_changed, dispatch_uid="transcription.redactions_changed.media"
    )
    register_media_restriction(selectors.restrict_unredacted_media)


_connect_redacted_media()  # this module is imported by TranscriptionConfig.ready()
