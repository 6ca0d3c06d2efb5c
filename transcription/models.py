"""Transcription jobs (our table is the source of truth for what has been done), transcripts
and their segments. Every row knows its story, so that erasing a story can find it."""

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from stories.models import StoryMedia, StoryPage, private_storage


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
    verified_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
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
    # Review (issue 4): how many times it has been saved (a stale editor's save is refused),
    # and who checked it against the recording.
    version = models.PositiveIntegerField(default=1)
    verified_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)

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


# ---------------------------------------------------------------------------------------
# Review: revisions, redaction and clips (issue 4). Every row knows its story, so erasing a
# story (a cascade from StoryPage) removes them, and a withdrawn consent can find them.


class Speaker(models.TextChoices):
    REPORTER = "reporter", "Reporter"
    STORYTELLER = "storyteller", "Storyteller"
    OTHER = "other", "Other"


class SegmentRevision(models.Model):
    """One saved state of a segment: written before every change (text, words, speaker,
    verified), so an edit can be shown as a diff and reverted."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="revisions")
    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    text = models.TextField()
    words = models.JSONField(default=list, blank=True)
    speaker = models.CharField(max_length=80, blank=True)
    reason = models.CharField(max_length=20, default="edit")  # edit | revert | speaker
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["segment", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "number"], name="unique_segment_revision")
        ]

    def __str__(self):
        return f"Revision {self.number} of segment {self.segment_id}"


class RedactionKind(models.TextChoices):
    NAME = "name", "Name"
    PLACE = "place", "Place"
    NUMBER = "number", "Number"
    EMAIL = "email", "E-mail"
    DATE = "date", "Date"
    ORGANISATION = "organisation", "Organisation"
    OTHER = "other", "Other"


class RedactionStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    ACCEPTED = "accepted", "Redacted"
    REJECTED = "rejected", "Kept"


class RedactionSource(models.TextChoices):
    PATTERN = "pattern", "Pattern"
    NAME_LIST = "name_list", "Name list"
    HEURISTIC = "heuristic", "Capitalised name"
    MANUAL = "manual", "Selected by a person"


class Redaction(models.Model):
    """One span of one segment's text, [start_char, end_char). A selection across a segment
    boundary becomes one row per segment sharing a `group`. `start`/`end` are the span's time
    range from the word timings (none for written stories); every playable copy and clip is
    rendered with accepted ranges silenced. `original` is the redacted text itself: it is
    personal data, shown only to stewards and the story's reporter in the editor."""

    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="redactions")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="redactions")
    start_char = models.PositiveIntegerField()
    end_char = models.PositiveIntegerField()
    original = models.TextField()
    kind = models.CharField(max_length=20, choices=RedactionKind.choices)
    status = models.CharField(
        max_length=10,
        choices=RedactionStatus.choices,
        default=RedactionStatus.SUGGESTED,
        db_index=True,
    )
    source = models.CharField(max_length=12, choices=RedactionSource.choices)
    group = models.UUIDField(null=True, blank=True)
    start = models.FloatField(null=True, blank=True)
    end = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["segment", "start_char", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} redaction in story {self.story_id}"

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]


# What a redacted span reads as, everywhere it is shown, exported or captioned.
PLACEHOLDERS = {
    RedactionKind.NAME: "[name]",
    RedactionKind.ORGANISATION: "[name]",
    RedactionKind.PLACE: "[place]",
    RedactionKind.NUMBER: "[number]",
    RedactionKind.EMAIL: "[number]",
    RedactionKind.DATE: "[number]",
    RedactionKind.OTHER: "[redacted]",
}


class NameListEntry(models.Model):
    """A name, place or organisation that must never appear: kept per project (officers,
    places, organisations) or per story (the storyteller's real name, family members)."""

    project = models.ForeignKey(
        "cms.ProjectPage", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    story = models.ForeignKey(
        StoryPage, null=True, blank=True, on_delete=models.CASCADE, related_name="name_list"
    )
    term = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20, choices=RedactionKind.choices, default=RedactionKind.NAME
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["term"]
        constraints = [
            models.CheckConstraint(
                condition=Q(project__isnull=False) | Q(story__isnull=False),
                name="name_list_entry_has_owner",
            )
        ]

    def __str__(self):
        return self.term


class ClipStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to be made"
    RENDERING = "rendering", "Being made"
    DONE = "done", "Ready"
    FAILED = "failed", "Could not be made"
    TEXT_ONLY = "text_only", "Text quote only"


class Clip(models.Model):
    """A short excerpt of a story for workshops: a time range of its current transcript,
    rendered from the redacted audio with WebVTT captions from the redacted text. Without
    "voice" consent it is a text quote only; without "quote" consent it is not offered."""

    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="clips")
    transcript = models.ForeignKey(Transcript, on_delete=models.CASCADE, related_name="clips")
    segments = models.ManyToManyField(Segment, related_name="clips", blank=True)
    title = models.CharField(max_length=200, blank=True)
    start = models.FloatField(null=True, blank=True)  # none for written stories
    end = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)  # redacted, refreshed on every render
    speaker = models.CharField(max_length=80, blank=True)
    captions = models.TextField(blank=True)  # WebVTT, redacted
    file = models.FileField(storage=private_storage, max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=12, choices=ClipStatus.choices, default=ClipStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__gt=models.F("start")),
                name="clip_has_length",
            )
        ]

    def __str__(self):
        return self.title or f"Clip from story {self.story_id}"
