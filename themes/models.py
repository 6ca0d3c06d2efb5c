"""Theme runs (one fit of the engine over a project's analysis set), the themes they found,
which segments speak to each theme, and the record of what people changed, so that their
decisions can be replayed on the next run."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cms.models import ProjectPage
from stories.models import StoryPage
from transcription.models import Segment


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Finding themes"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ThemeRun(models.Model):
    project = models.ForeignKey(ProjectPage, on_delete=models.CASCADE, related_name="theme_runs")
    parameters = models.JSONField(default=dict, blank=True)
    engine_version = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=300, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    # For people: "too little material yet", or what went wrong and what to do.
    message = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="Technical detail for a data steward.")
    story_count = models.PositiveIntegerField(default=0)
    segment_count = models.PositiveIntegerField(default=0)
    passage_count = models.PositiveIntegerField(default=0)
    theme_count = models.PositiveIntegerField(default=0)
    outlier_count = models.PositiveIntegerField(default=0)
    quality = models.JSONField(default=dict, blank=True)
    # What changed since the previous run: {"new": [...], "grown": [...], "shrunk": [...],
    # "vanished": [...]} (theme labels).
    report = models.JSONField(default=dict, blank=True)
    # What the engine needs to place new segments in these themes without a refit (small:
    # centroids and the like). Bytes from the engine; never unpickled from user input.
    fitted_state = models.BinaryField(null=True, blank=True, editable=False)
    # The stories whose segments the run was given: erasing one of them discards whatever
    # the run fitted on it (stories.erasure, themes.erasure).
    story_ids = models.JSONField(default=list, blank=True, editable=False)
    # A worker takes the run with a lease and renews it while it works; a run whose worker
    # died is taken again once the lease runs out (services.theme_run_claim).
    worker_id = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_current=True), name="one_current_theme_run"
            )
        ]

    def __str__(self):
        return f"Theme run {self.pk} of {self.project}"

    @property
    def is_finished(self) -> bool:
        return self.status in {RunStatus.DONE, RunStatus.FAILED}


class ThemeChange(models.TextChoices):
    NEW = "new", "New"
    GROWN = "grown", "Grown"
    SHRUNK = "shrunk", "Shrunk"
    SAME = "same", "Same"


class Theme(models.Model):
    run = models.ForeignKey(ThemeRun, on_delete=models.CASCADE, related_name="themes")
    project = models.ForeignKey(ProjectPage, on_delete=models.CASCADE, related_name="themes")
    key = models.IntegerField(help_text="The engine's topic number in this run (-1: none).")
    # The same theme across runs: carried over when a new run's theme matches this one.
    stable_key = models.UUIDField(default=uuid.uuid4, db_index=True)
    auto_label = models.CharField(max_length=200, blank=True)
    label = models.CharField(max_length=200, blank=True, help_text="Blank: use the automatic one.")
    description = models.TextField(blank=True)
    keywords = models.JSONField(default=list, blank=True)
    size = models.PositiveIntegerField(default=0)  # segments
    storyteller_count = models.PositiveIntegerField(default=0)
    role_counts = models.JSONField(default=dict, blank=True)  # role → distinct storytellers
    hidden = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    # A theme split in two is kept (people's events name it) but no longer shown.
    split_into = models.JSONField(default=list, blank=True)  # stable keys of its parts
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="parts"
    )
    map_x = models.FloatField(null=True, blank=True)
    map_y = models.FloatField(null=True, blank=True)
    centroid = models.JSONField(default=list, blank=True)
    # The segments the model put here, before anyone moved anything: used to match runs.
    model_segment_ids = models.JSONField(default=list, blank=True)
    created_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change = models.CharField(max_length=10, choices=ThemeChange.choices, default=ThemeChange.NEW)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-size", "key", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "stable_key"], name="unique_theme_stable_key")
        ]

    def __str__(self):
        return self.display_label

    @property
    def display_label(self) -> str:
        return self.label or self.auto_label or f"Theme {self.key}"

    @property
    def is_active(self) -> bool:
        return self.merged_into_id is None and not self.split_into


class AssignmentSource(models.TextChoices):
    MODEL = "model", "Found by the computer"
    PERSON = "person", "Placed by a person"


class ThemeAssignment(models.Model):
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="assignments")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="theme_assignments")
    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(default=1.0)
    source = models.CharField(
        max_length=10, choices=AssignmentSource.choices, default=AssignmentSource.MODEL
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pinned = models.BooleanField(default=False, help_text="Pinned as one of the theme's quotes.")

    class Meta:
        ordering = ["-pinned", "-probability", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["theme", "segment"], name="one_assignment_per_theme")
        ]

    def __str__(self):
        return f"Segment {self.segment_id} in {self.theme_id}"


class CurationAction(models.TextChoices):
    RENAME = "rename", "Renamed"
    DESCRIBE = "describe", "Described"
    MERGE = "merge", "Merged"
    SPLIT = "split", "Split"
    HIDE = "hide", "Hidden or shown"
    MOVE = "move", "Moved a quote"
    PIN = "pin", "Pinned or unpinned a quote"


class CurationEvent(models.Model):
    """One human decision, by theme stable keys, so it can be replayed on a later run."""

    project = models.ForeignKey(
        ProjectPage, on_delete=models.CASCADE, related_name="curation_events"
    )
    run = models.ForeignKey(ThemeRun, null=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=CurationAction.choices)
    payload = models.JSONField(default=dict, blank=True)
    theme_keys = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d})"
