"""Workshops: a pack of themes, clips and prompts put in front of managers and staff, and
what was decided there. Proposals accepted at a workshop become actions (the actions app
listens to workshops.signals.proposal_accepted; this app never imports it)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from cms.models import ProjectPage
from stories.models import StoryPage
from themes.models import Theme
from transcription.models import Clip, Segment
from workshops.blocks import PackStreamBlock


class Audience(models.TextChoices):
    MANAGERS = "managers", "Managers"
    CASE_MANAGERS = "case_managers", "Case managers"
    FRONT_LINE = "front_line", "Front-line staff"
    VOLUNTEERS = "volunteers", "Volunteers and peer mentors"
    SERVICE_USERS = "service_users", "People who use the service"
    OTHER = "other", "Others"


class WorkshopPage(Page):
    """One participatory workshop of a project; its body is the pack."""

    date = models.DateField(null=True, blank=True)
    venue = models.CharField(max_length=200, blank=True)
    audience = models.JSONField(default=list, blank=True)  # Audience values
    facilitators = ParentalManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    objectives = models.TextField(blank=True)
    body = StreamField(PackStreamBlock(), blank=True, use_json_field=True)
    # Set when an export or a consent change rebuilt the pack without withdrawn material.
    regenerated_at = models.DateTimeField(null=True, blank=True)
    regenerated_note = models.TextField(blank=True)

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("date"),
                FieldPanel("venue"),
                FieldPanel("audience"),
                FieldPanel("facilitators"),
                FieldPanel("objectives"),
            ],
            heading="The workshop",
        ),
        FieldPanel("body"),
    ]
    parent_page_types = ["cms.ProjectPage"]
    subpage_types = []

    @property
    def project(self) -> ProjectPage:
        return self.get_parent().specific


class Decision(models.TextChoices):
    PENDING = "pending", "Not decided yet"
    ACCEPTED = "accepted", "Accepted"
    DEFERRED = "deferred", "Deferred"
    REJECTED = "rejected", "Rejected"


class Proposal(models.Model):
    """A proposed change to the service: from the pack (a ProposedChangeBlock) or raised on
    the day; voted on and decided at the workshop."""

    workshop = models.ForeignKey(WorkshopPage, on_delete=models.CASCADE, related_name="proposals")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    themes = models.ManyToManyField(Theme, blank=True, related_name="proposals")
    quotes = models.ManyToManyField(Segment, blank=True, related_name="proposals")
    clips = models.ManyToManyField(Clip, blank=True, related_name="proposals")
    from_pack = models.BooleanField(default=False)
    block_id = models.CharField(max_length=64, blank=True)  # the pack block it came from
    votes_for = models.PositiveIntegerField(default=0)
    votes_against = models.PositiveIntegerField(default=0)
    votes_abstain = models.PositiveIntegerField(default=0)
    decision = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.PENDING, db_index=True
    )
    reasons = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workshop", "pk"]

    def __str__(self):
        return self.title


class Attendance(models.Model):
    """How many people of one audience group came."""

    workshop = models.ForeignKey(WorkshopPage, on_delete=models.CASCADE, related_name="attendance")
    group = models.CharField(max_length=20, choices=Audience.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["workshop", "group"]
        constraints = [
            models.UniqueConstraint(fields=["workshop", "group"], name="one_count_per_group")
        ]


class SignificantStory(models.Model):
    """Most Significant Change: a story participants chose, and why."""

    workshop = models.ForeignKey(
        WorkshopPage, on_delete=models.CASCADE, related_name="significant_stories"
    )
    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="+")
    why = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workshop", "pk"]
