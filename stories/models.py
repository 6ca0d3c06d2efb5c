import os
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from rest_framework_tus.models import AbstractUpload
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.models import Page
from wagtail.search import index

from cms.models import ProjectPage


def private_storage():
    """Recordings and consent evidence: never under MEDIA_URL (see settings.STORAGES)."""
    return storages["private"]


class StorytellerRole(models.TextChoices):
    SERVICE_USER = "service_user", "Person using the service"
    STAFF = "staff", "Staff"
    VOLUNTEER = "volunteer", "Volunteer or peer mentor"
    PARTNER = "partner", "Partner organisation"
    FAMILY = "family", "Family member"


class Visibility(models.TextChoices):
    TEAM = "team", "Project team only"
    ORGANISATION = "organisation", "Whole organisation"
    PUBLIC = "public", "Public (only with consent to publish)"


class StoryKind(models.TextChoices):
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"
    TEXT = "text", "Written"


class MediaState(models.TextChoices):
    NONE = "none", "No recording"
    WAITING = "waiting", "Waiting for transcription"
    PROCESSING = "processing", "Being transcribed"
    READY = "ready", "Transcribed"
    FAILED = "failed", "Transcription failed"
    NEEDS_REUPLOAD = "needs_reupload", "Needs re-upload"
    NOT_TRANSCRIBED = "not_transcribed", "Not turned into text (no consent)"


LANGUAGES = [
    ("auto", "Work it out from the recording"),
    ("en", "English"),
    ("cy", "Welsh"),
    ("pl", "Polish"),
    ("ro", "Romanian"),
    ("pa", "Punjabi"),
    ("ur", "Urdu"),
    ("ar", "Arabic"),
    ("so", "Somali"),
    ("fr", "French"),
    ("es", "Spanish"),
]


class AgeBand(models.TextChoices):
    UNDER_18 = "under_18", "Under 18"
    AGE_18_24 = "18_24", "18–24"
    AGE_25_34 = "25_34", "25–34"
    AGE_35_49 = "35_49", "35–49"
    AGE_50_64 = "50_64", "50–64"
    AGE_65_PLUS = "65_plus", "65 or over"


class Storyteller(models.Model):
    """Known by a pseudonym only. Contact details only where a steward has allowed them."""

    project = models.ForeignKey(ProjectPage, on_delete=models.PROTECT, related_name="storytellers")
    pseudonym = models.CharField(max_length=80)
    age_band = models.CharField(max_length=10, choices=AgeBand.choices, blank=True)
    gender = models.CharField(max_length=40, blank=True)
    contact_details = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    panels = [
        FieldPanel("project", read_only=True),
        FieldPanel("pseudonym"),
        FieldPanel("age_band"),
        FieldPanel("gender"),
        FieldPanel("contact_details"),
    ]

    class Meta:
        ordering = ["pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["project", "pseudonym"], name="unique_pseudonym")
        ]

    def __str__(self):
        return self.pseudonym


class StoryIndexPage(Page):
    parent_page_types = ["cms.ProjectPage"]
    subpage_types = ["stories.StoryPage"]
    max_count_per_parent = 1

    def serve(self, request, *args, **kwargs):
        from django.shortcuts import redirect

        return redirect("stories:my_stories", project_slug=self.get_parent().slug)


class StoryTag(TaggedItemBase):
    content_object = ParentalKey("stories.StoryPage", related_name="tagged_items")


class StoryPage(Page):
    summary = models.TextField(blank=True)
    storyteller = models.ForeignKey(
        Storyteller, null=True, on_delete=models.PROTECT, related_name="stories"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="stories"
    )
    recorded_on = models.DateField(null=True, blank=True)
    location = models.CharField(
        max_length=100, blank=True, help_text="A town or area, never an address."
    )
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    storyteller_role = models.CharField(
        max_length=20, choices=StorytellerRole.choices, default=StorytellerRole.SERVICE_USER
    )
    tags = ClusterTaggableManager(through=StoryTag, blank=True)
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.TEAM
    )
    kind = models.CharField(max_length=10, choices=StoryKind.choices, default=StoryKind.AUDIO)
    text_body = models.TextField(blank=True, help_text="The story itself, for written stories.")
    media_state = models.CharField(
        max_length=20, choices=MediaState.choices, default=MediaState.NONE
    )
    media_message = models.CharField(max_length=300, blank=True)
    # Set in the same transaction as a full withdrawal of consent: from then on nobody sees
    # the story, while the erasure job removes it and everything made from it.
    withdrawn = models.BooleanField(default=False, db_index=True)
    # Set when the story was anonymised at the end of its retention period (stories.erasure):
    # from then on it is no longer about anyone, and retention leaves it alone.
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)

    content_panels = Page.content_panels + [
        FieldPanel("summary"),
        MultiFieldPanel(
            [
                FieldPanel("storyteller", read_only=True),
                FieldPanel("storyteller_role"),
                FieldPanel("reporter", read_only=True),
                FieldPanel("recorded_on"),
                FieldPanel("location"),
                FieldPanel("language"),
            ],
            heading="Who, when, where",
        ),
        FieldPanel("tags"),
        FieldPanel("visibility"),
        FieldPanel("text_body"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("summary"),
        index.SearchField("text_body"),
        index.FilterField("storyteller_role"),
        index.FilterField("reporter"),
        index.FilterField("media_state"),
    ]
    parent_page_types = ["stories.StoryIndexPage"]
    subpage_types = []

    def get_project(self) -> ProjectPage:
        return ProjectPage.objects.ancestor_of(self).get()

    def with_content_json(self, content):
        """Publishing or reverting a revision must not bring back an old processing state:
        these fields are kept up to date by services, never through the editor."""
        page = super().with_content_json(content)
        page.media_state = self.media_state
        page.media_message = self.media_message
        page.withdrawn = self.withdrawn
        page.anonymised_at = self.anonymised_at
        return page

    @property
    def current_consent(self):
        return self.consents.order_by("-version").first()

    def serve(self, request, *args, **kwargs):
        from stories.selectors import story_get_for_user

        story_get_for_user(user=request.user, story_id=self.pk)  # 404 for anyone else
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        from stories.selectors import story_player_media

        context["recording"], context["poster"] = story_player_media(user=request.user, story=self)
        context["consent"] = self.current_consent
        return context


def _private_name(prefix: str, extension: str) -> str:
    return f"{prefix}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


class StoryMedia(models.Model):
    """A file belonging to a story, kept in private storage under a generated name."""

    class Role(models.TextChoices):
        RECORDING = "recording", "Original recording"
        TEXT = "text", "Original text file"
        PLAYABLE = "playable", "Copy for playing in the browser"
        POSTER = "poster", "Still picture from the video"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="media")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RECORDING)
    file = models.FileField(storage=private_storage, max_length=200)
    original_name = models.CharField(
        max_length=255, blank=True, help_text="As uploaded; shown escaped, never used as a path."
    )
    content_type = models.CharField(max_length=100)
    container = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    duration_seconds = models.FloatField(null=True, blank=True)
    has_video = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "story media"

    def __str__(self):
        return f"{self.get_role_display()} of story {self.story_id}"

    @staticmethod
    def generate_name(extension: str) -> str:
        return _private_name("stories", extension)


class ConsentMethod(models.TextChoices):
    WRITTEN = "written", "Written (signed form)"
    VERBAL = "verbal", "Spoken, and recorded"


# The things a storyteller can agree to, in the order the consent script asks about them.
CONSENT_SCOPES = {
    "record": "Record my story",
    "transcribe": "Turn the recording into text",
    "analyse": "Use my story to find common themes",
    "quote": "Quote my words (without my name) in workshops",
    "voice": "Play my voice or video in workshops",
    "publish": "Share my words publicly",
}


class Consent(models.Model):
    """One version of a storyteller's consent for one story. Never edited: a change, including
    a withdrawal, is a new version (services.consent_record / consent_withdraw)."""

    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="consents")
    version = models.PositiveIntegerField()
    record = models.BooleanField(default=False)
    transcribe = models.BooleanField(default=False)
    analyse = models.BooleanField(default=False)
    quote = models.BooleanField(default=False)
    voice = models.BooleanField(default=False)
    publish = models.BooleanField(default=False)
    method = models.CharField(max_length=10, choices=ConsentMethod.choices)
    evidence = models.FileField(storage=private_storage, max_length=200, blank=True)
    evidence_original_name = models.CharField(max_length=255, blank=True)
    evidence_content_type = models.CharField(max_length=100, blank=True)
    script_version = models.CharField(max_length=40)
    is_withdrawal = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["story", "-version"]
        get_latest_by = "version"
        constraints = [
            models.UniqueConstraint(fields=["story", "version"], name="unique_consent_version")
        ]

    def __str__(self):
        return f"Consent v{self.version} for story {self.story_id}"

    def save(self, *args, **kwargs):
        # Consent is evidence: an existing version is never rewritten.
        if not self._state.adding:
            raise ValueError("A consent version cannot be changed; record a new version.")
        super().save(*args, **kwargs)

    @property
    def scopes(self) -> set[str]:
        return {scope for scope in CONSENT_SCOPES if getattr(self, scope)}

    def scope_labels(self) -> list[str]:
        return [label for scope, label in CONSENT_SCOPES.items() if getattr(self, scope)]

    @staticmethod
    def generate_evidence_name(extension: str) -> str:
        return _private_name("consent", extension)


class ErasureKind(models.TextChoices):
    FULL = "full", "Whole story erased"
    NARROW = "narrow", "Only what consent no longer covers"
    ANONYMISE = "anonymise", "Anonymised at the end of retention"


class ErasureStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Erasing"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped: needs a data steward"


class ErasureRequest(models.Model):
    """One erasure: after a withdrawal (whole story, or just what narrower consent no longer
    covers) or at the end of the retention period. The job is idempotent: `ledger` records
    each step done (stories.erasure), so a worker that dies half-way is followed by one
    that carries on. Once done, it is the certificate: what was removed, when, by whose
    request. It keeps no personal data: the story link is cleared when the story goes, and
    `reference` is what a steward quotes to the storyteller."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    story = models.ForeignKey(
        StoryPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )
    project = models.ForeignKey(
        ProjectPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=ErasureKind.choices)
    reason = models.CharField(max_length=20, default="withdrawal")  # withdrawal | retention
    scopes_removed = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.QUEUED, db_index=True
    )
    ledger = models.JSONField(default=dict, blank=True)  # step name → {"at", "removed"}
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    worker_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"Erasure {self.reference}"


# Where the pieces of resumable uploads gather, under PRIVATE_MEDIA_ROOT.
RESUMABLE_FOLDER = "uploads-in-progress"


class ResumableUpload(AbstractUpload):
    """A recording on its way from a reporter's phone in pieces (the tus protocol, served by
    drf-tus in stories.resumable). What has arrived lies in a file of its own under
    PRIVATE_MEDIA_ROOT, never in public media. Private to the reporter who began it, used
    once by the capture form and then deleted; one not used in time expires
    (stories.resumable.resumable_uploads_expire)."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    project = models.ForeignKey(ProjectPage, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Counted against the per-user limit when it began, it lets the first form that names
    # it through uncounted; a form sent again (after a problem) counts as any other.
    credit_used = models.BooleanField(default=False)

    def get_or_create_temporary_file(self):
        if not self.temporary_file_path:
            folder = Path(settings.PRIVATE_MEDIA_ROOT) / RESUMABLE_FOLDER
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp: readable by this user only, under a name that takes nothing from the
            # uploader.
            handle, path = tempfile.mkstemp(prefix="storyloom-", suffix=".part", dir=folder)
            os.close(handle)
            self.temporary_file_path = path
            self.save()
        return self.temporary_file_path

    def __str__(self):
        return f"Upload {self.guid}"
