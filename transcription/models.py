"""Transcription jobs (our table is the source of truth for what has been done), transcripts
and their segments. Every row knows its story, so that erasing a story can find it."""

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from stories.models import StoryMedia, StoryPage


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Being transcribed"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    NEEDS_REUPLOAD = "needs_reupload", "Needs a new recording"


# The model name a text story "uses": written stories are split, not transcribed.
TEXT_MODEL = "text"


class TranscriptionJob(models.Model):
    story = models.ForeignKey(
        StoryPage, on_delete=models.CASCADE, related_name="transcription_jobs"
    )
    media = models.ForeignKey(
        StoryMedia, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The model as asked for (a name such as "base", or a path); the transcript records the
    # engine's full id (model, compute type, beam).
    model = models.CharField(max_length=300)
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True, help_text="For people: what went wrong, what to do.")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    audio_seconds = models.FloatField(null=True, blank=True)
    elapsed_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["story", "model"], name="one_job_per_story_and_model")
        ]

    def __str__(self):
        return f"Transcription of story {self.story_id} with {self.model}"

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD}


class Transcript(models.Model):
    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="transcripts")
    job = models.OneToOneField(
        TranscriptionJob, on_delete=models.CASCADE, related_name="transcript"
    )
    model_id = models.CharField(max_length=300)
    language = models.CharField(max_length=16, blank=True)
    language_probability = models.FloatField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    # The transcript people see and correct. A new model's transcript waits until a steward
    # or the reporter accepts it (services.transcript_accept).
    is_current = models.BooleanField(default=False)
    accepted_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["story"], condition=Q(is_current=True), name="one_current_transcript"
            )
        ]

    def __str__(self):
        return f"Transcript of story {self.story_id} ({self.model_id})"


class SegmentFlag(models.TextChoices):
    LOW_CONFIDENCE = "low_confidence", "Low confidence"
    HALLUCINATION = "possible_hallucination", "Possible hallucination"


class Segment(models.Model):
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="segments")
    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.FloatField(null=True, blank=True)  # seconds; none for written stories
    end = models.FloatField(null=True, blank=True)
    text = models.TextField()
    speaker = models.CharField(max_length=80, blank=True)  # "" until someone labels it
    words = models.JSONField(default=list, blank=True)  # [{text, start, end, probability}]
    avg_logprob = models.FloatField(null=True, blank=True)
    no_speech_prob = models.FloatField(null=True, blank=True)
    compression_ratio = models.FloatField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="unique_segment_index")
        ]

    def __str__(self):
        return f"Segment {self.index} of story {self.story_id}"

    @property
    def is_flagged(self) -> bool:
        return bool(self.flags)
