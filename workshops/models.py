"""Workshops: a pack of themes, clips and prompts put in front of managers and staff, and
what was decided there. Proposals accepted at a workshop become actions (the actions app
listens to workshops.signals.proposal_accepted; this app never imports it)."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, HelpPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page, PagePermissionTester

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


class WorkshopPageForm(WagtailAdminPageForm):
    """Audience as tick boxes; co-facilitators chosen from the project's own people; and no
    material from another project in the pack."""

    audience = forms.MultipleChoiceField(
        choices=lambda: Audience.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Who is coming.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        project = self._project()
        if "facilitators" in self.fields:
            field = self.fields["facilitators"]
            field.widget = forms.CheckboxSelectMultiple()
            field.help_text = "The project's facilitators and reporters who run this workshop."
            field.queryset = _project_people(project) if project else field.queryset.none()

    def _project(self):
        from cms.models import ProjectPage

        anchor = self.parent_page if self.instance.pk is None else self.instance
        if anchor is None:
            return None
        if isinstance(anchor.specific, ProjectPage):
            return anchor.specific
        return ProjectPage.objects.ancestor_of(anchor).first()

    def clean(self):
        cleaned = super().clean()
        project = self._project()
        body = cleaned.get("body")
        if project is not None and body is not None:
            problems = pack_material_problems(body, project)
            if problems:
                self.add_error("body", " ".join(problems))
        return cleaned


def _project_people(project):
    from cms.models import ProjectGroup
    from cms.roles import Role

    groups = ProjectGroup.objects.filter(
        project=project, role__in=[Role.FACILITATOR, Role.REPORTER]
    ).values("group_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__in=groups)
        .distinct()
        .order_by("username")
    )


def pack_material_problems(body, project) -> list[str]:
    """Plain messages for pack material that belongs to another project."""
    problems = []
    for block in body:
        value = block.value
        themes = []
        if block.block_type == "theme":
            themes = [value["theme"]]
            stories = [s.story for s in value["quotes"] if s is not None]
        elif block.block_type == "proposed_change":
            themes = list(value["themes"])
            stories = []
        elif block.block_type == "quote":
            stories = [value["quote"].story] if value["quote"] is not None else []
        elif block.block_type == "clip":
            stories = [value["clip"].story] if value["clip"] is not None else []
        else:
            continue
        if any(t is not None and t.project_id != project.pk for t in themes):
            problems.append("A theme in the pack belongs to another project.")
        if any(not s.path.startswith(project.path) for s in stories):
            problems.append("A quote or clip in the pack comes from another project's story.")
    return sorted(set(problems))


class WorkshopPermissionTester(PagePermissionTester):
    """Every facilitator of the project (and data stewards) may edit its workshops, not only
    the one who created it; reporters and managers read them but never edit."""

    def can_edit(self):
        from workshops.selectors import can_edit_workshop

        if not self.user.is_active:
            return False
        return can_edit_workshop(user=self.user, workshop=self.page)

    def can_copy(self):
        return False  # a copy would be a second pack with the same outcomes' history


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
        HelpPanel(template="workshops/admin/_edit_links.html", heading="This workshop"),
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
    base_form_class = WorkshopPageForm
    template = "workshops/workshop_page.html"

    @property
    def project(self) -> ProjectPage:
        return self.get_parent().specific

    @property
    def audience_labels(self) -> list[str]:
        labels = dict(Audience.choices)
        return [labels[a] for a in self.audience or [] if a in labels]

    def permissions_for_user(self, user):
        return WorkshopPermissionTester(user, self)

    def clean(self):
        super().clean()
        unknown = [a for a in self.audience or [] if a not in Audience.values]
        if unknown:
            raise ValidationError({"audience": "Please choose the audience from the list."})

    def serve(self, request, *args, **kwargs):
        from workshops.selectors import workshop_get_for_user

        # A workshop pack is for its project's people only, like a story: 404 for others.
        workshop_get_for_user(user=request.user, workshop_id=self.pk)
        return super().serve(request, *args, **kwargs)

    @property
    def preview_modes(self):
        return [("", "Participant pack"), ("facilitator", "Facilitator guide")]

    def get_context(self, request, *args, **kwargs):
        from workshops.views import pack_context

        context = super().get_context(request, *args, **kwargs)
        context.update(pack_context(request, workshop=self, version=self, variant=None))
        return context

    def get_preview_context(self, request, mode_name):
        from workshops.views import pack_context

        context = super().get_context(request)
        variant = "facilitator" if mode_name == "facilitator" else "participant"
        context.update(pack_context(request, workshop=self, version=self, variant=variant))
        return context

    def get_preview_template(self, request, mode_name):
        return self.template


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
    # When proposal_accepted was sent: it is sent once per proposal, ever.
    accepted_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
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

    def __str__(self):
        return f"{self.get_group_display()}: {self.count}"


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

    def __str__(self):
        return f"Most significant story {self.pk} of workshop {self.workshop_id}"
