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
    context["segments"] = selectors.segments_for_user(user=user, story_id=story.pk)
    return render_to_string("transcription/_story_panel.html", context)
