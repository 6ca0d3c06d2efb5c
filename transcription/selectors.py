"""Reads of transcription jobs and transcripts, always through the viewer's stories."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from cms.roles import user_is_steward
from stories.models import StoryPage
from stories.selectors import story_get_for_user
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

WHAT_TO_DO = {
    JobStatus.QUEUED: "You do not need to do anything. It will start soon.",
    JobStatus.RUNNING: "You do not need to do anything. You can leave this page.",
    JobStatus.DONE: "",
    JobStatus.NEEDS_REUPLOAD: "Please record the story again, or upload the file again.",
    JobStatus.FAILED: "A data steward can see the problem and try again. "
    "You do not need to do anything.",
}


def latest_job(story: StoryPage) -> TranscriptionJob | None:
    return TranscriptionJob.objects.filter(story=story).order_by("-created_at", "-pk").first()


def job_for_user(*, user, story_id) -> tuple[StoryPage, TranscriptionJob | None]:
    """The story (404 for anyone who may not see it) and its latest transcription job."""
    story = story_get_for_user(user=user, story_id=story_id)
    return story, latest_job(story)


def estimated_finish(job: TranscriptionJob, now=None):
    """When the running job should be done: from its pace so far, or, early on, from the
    length of the recording and the usual speed."""
    if job.status not in {JobStatus.QUEUED, JobStatus.RUNNING}:
        return None
    now = now or timezone.now()
    if job.status == JobStatus.RUNNING and job.started_at and job.progress >= 3:
        spent = (now - job.started_at).total_seconds()
        return now + timedelta(seconds=spent * (100 - job.progress) / job.progress)
    seconds = job.media.duration_seconds if job.media_id and job.media else None
    if not seconds:
        return None
    speed = float(getattr(settings, "TRANSCRIPTION_EXPECTED_SPEED", 4.0))  # × real time
    start = job.started_at if job.status == JobStatus.RUNNING and job.started_at else now
    return max(now, start + timedelta(seconds=seconds / speed))


def _in_words(when, now) -> str:
    if when is None:
        return ""
    minutes = round((when - now).total_seconds() / 60)
    if minutes <= 1:
        return "It should be ready in about a minute."
    if minutes < 90:
        return f"It should be ready in about {minutes} minutes."
    return f"It should be ready at about {timezone.localtime(when):%H:%M}."


def progress_of(job: TranscriptionJob | None) -> dict:
    """What the reporter sees about a story's transcription, as plain data (the panel and
    its JSON endpoint show the same)."""
    if job is None:
        return {
            "status": "none",
            "label": "Not started",
            "percent": 0,
            "finished": False,
            "message": "",
            "what_to_do": "",
            "estimated_finish": None,
            "estimated_finish_text": "",
        }
    now = timezone.now()
    finish = estimated_finish(job, now)
    percent = 100 if job.status == JobStatus.DONE else job.progress
    if job.status in {JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD}:
        # Reporters get the plain part; the technical detail is for stewards in the admin.
        message = job.error.split("\n\nTechnical detail:")[0]
    elif job.status == JobStatus.RUNNING:
        message = f"{percent}% done."
    elif job.status == JobStatus.QUEUED:
        message = "Waiting to start." if job.attempts == 0 else "Waiting to try again."
    else:
        message = "The transcript is ready."
    return {
        "status": job.status,
        "label": job.get_status_display(),
        "percent": percent,
        "finished": job.is_finished,
        "message": message,
        "what_to_do": WHAT_TO_DO[job.status],
        "estimated_finish": finish.isoformat() if finish else None,
        "estimated_finish_text": _in_words(finish, now),
    }


def progress_for_user(*, user, story_id) -> dict:
    story, job = job_for_user(user=user, story_id=story_id)
    return {"story": story.pk, **progress_of(job)}


def current_transcript(story: StoryPage) -> Transcript | None:
    return Transcript.objects.filter(story=story, is_current=True).first()


def segments_for_user(*, user, story_id) -> QuerySet[Segment]:
    """The current transcript's segments, for whoever may see the story."""
    story = story_get_for_user(user=user, story_id=story_id)
    return Segment.objects.filter(story=story, transcript__is_current=True).order_by("index")


def jobs_needing_attention(*, user) -> QuerySet[TranscriptionJob]:
    """Failed jobs and recordings that need re-uploading: data stewards only."""
    if not user.is_authenticated or not user_is_steward(user):
        return TranscriptionJob.objects.none()
    return TranscriptionJob.objects.filter(
        status__in=[JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD]
    ).select_related("story", "media")
