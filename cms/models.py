from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from wagtail.admin.panels import FieldPanel, HelpPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page

from cms.roles import Role


class HomePage(Page):
    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["cms.ProjectPage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        from cms.selectors import projects_for_user

        context = super().get_context(request, *args, **kwargs)
        context["projects"] = projects_for_user(user=request.user)
        return context


class RetentionAction(models.TextChoices):
    ERASE = "erase", "Erase the story and everything made from it"
    ANONYMISE = "anonymise", "Anonymise it: keep its redacted words, remove who told it"


class ProjectPage(Page):
    """A reporting programme: one service, its reporters, its stories."""

    organisation = models.CharField(max_length=200)
    description = RichTextField(blank=True)
    retention_months = models.PositiveIntegerField(
        default=36,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="How long stories are kept after they are recorded, in months.",
    )
    retention_action = models.CharField(
        max_length=10,
        choices=RetentionAction.choices,
        default=RetentionAction.ERASE,
        help_text="What happens to a story at the end of its retention period. Anonymised "
        "stories keep their redacted words for themes and actions; their recordings, "
        "storyteller, hidden words and details go.",
    )
    custom_vocabulary = models.TextField(
        blank=True,
        help_text="Names, places and jargon the transcriber should expect, one per line "
        "(for example: OGRS, Enabling Fund).",
    )
    delete_originals_after_verified_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(3650)],
        help_text="Delete original recordings this many days after their transcript is "
        "verified (the redacted playable copy and the transcript stay). Leave empty to keep "
        "them until the story itself is erased.",
    )
    allow_storyteller_contact = models.BooleanField(
        default=False,
        help_text="Only a data steward may turn this on: lets reporters keep a storyteller's "
        "contact details.",
    )

    content_panels = Page.content_panels + [
        FieldPanel("organisation"),
        FieldPanel("description"),
        MultiFieldPanel(
            [
                FieldPanel("retention_months", permission="cms.manage_data_governance"),
                FieldPanel("retention_action", permission="cms.manage_data_governance"),
                FieldPanel(
                    "delete_originals_after_verified_days",
                    permission="cms.manage_data_governance",
                ),
                FieldPanel("allow_storyteller_contact", permission="cms.manage_data_governance"),
            ],
            heading="Data governance",
        ),
        MultiFieldPanel(
            [
                HelpPanel("Words that help the transcriber; one per line."),
                FieldPanel("custom_vocabulary"),
            ],
            heading="Transcription",
        ),
    ]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["stories.StoryIndexPage", "workshops.WorkshopPage"]

    class Meta:
        permissions = [("manage_data_governance", "Can change retention and contact settings")]

    @property
    def vocabulary(self) -> list[str]:
        return [w.strip() for w in self.custom_vocabulary.splitlines() if w.strip()]

    def get_context(self, request, *args, **kwargs):
        from cms.project_links import project_links
        from cms.selectors import project_roles_for_user

        context = super().get_context(request, *args, **kwargs)
        context["roles"] = project_roles_for_user(user=request.user, project=self)
        context["project_links"] = project_links(project=self, user=request.user)
        return context

    def serve(self, request, *args, **kwargs):
        from django.http import Http404

        from cms.selectors import projects_for_user

        # A project's page is for its own people only.
        if not projects_for_user(user=request.user).filter(pk=self.pk).exists():
            raise Http404
        return super().serve(request, *args, **kwargs)


class ProjectGroup(models.Model):
    """The group that gives one role its permissions within one project."""

    project = models.ForeignKey(ProjectPage, on_delete=models.CASCADE, related_name="role_groups")
    role = models.CharField(max_length=20, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="project_role")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "role"], name="unique_project_role")
        ]

    def __str__(self):
        return f"{self.project.title}: {self.get_role_display()}"


class DailyRun(models.Model):
    """One daily job on one day (cms.daily): the unique pair is the lock that makes
    `manage.py daily` safe to run every hour from several machines."""

    name = models.CharField(max_length=100)
    day = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-day", "name"]
        constraints = [models.UniqueConstraint(fields=["name", "day"], name="one_run_a_day")]

    def __str__(self):
        return f"{self.name} on {self.day}"
