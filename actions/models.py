"""Actions: what a service does because of what people said. An action usually comes from a
proposal accepted at a workshop (see receivers), links back to the themes and quotes behind
it, and is kept up to date by its owner with updates, which a public "You said, we did"
page and the stories' impact trails show."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from modelcluster.fields import ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, HelpPanel, MultiFieldPanel
from wagtail.models import RevisionMixin

from cms.models import ProjectPage
from stories.models import private_storage
from themes.models import Theme
from workshops.models import Proposal

PROGRESS_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]


class ActionStatus(models.Model):
    """One status an action can have. The set is configurable by data stewards; the five
    defaults (proposed, agreed, in progress, done, won't do) come from a migration."""

    key = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100, help_text="What the team sees, e.g. In progress.")
    public_label = models.CharField(
        max_length=100,
        help_text="Plain words for the public page, e.g. We are working on it.",
    )
    default_progress = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=PROGRESS_VALIDATORS,
        help_text="Progress (0–100) an action takes when it moves to this status, unless the "
        "person changes it too. Blank: keep the progress as it is.",
    )
    reason_required = models.BooleanField(
        default=False, help_text="A reason must be given (for example: won't do)."
    )
    is_closed = models.BooleanField(
        default=False,
        help_text="Finished one way or the other: never overdue, no more reminders.",
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    panels = [
        FieldPanel("label"),
        FieldPanel("public_label"),
        FieldPanel("key"),
        FieldPanel("default_progress"),
        FieldPanel("reason_required"),
        FieldPanel("is_closed"),
        FieldPanel("sort_order"),
    ]

    class Meta:
        ordering = ["sort_order", "pk"]
        verbose_name_plural = "action statuses"
        constraints = [
            models.CheckConstraint(
                condition=Q(default_progress__isnull=True) | Q(default_progress__lte=100),
                name="status_default_progress_0_100",
            )
        ]

    def __str__(self):
        return self.label


class ActionVisibility(models.TextChoices):
    TEAM = "team", "Project team only"
    PUBLIC = "public", "Public: on the “You said, we did” page"


class Action(RevisionMixin, ClusterableModel):
    """A change the service has agreed to consider or make. Edited only through
    actions.services (every change is a revision and an audit-log entry; a stale edit is
    refused by `version`)."""

    project = models.ForeignKey(ProjectPage, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_actions",
        help_text="The manager who answers for this action.",
    )
    team = models.CharField(max_length=200, blank=True, help_text="The team doing the work.")
    status = models.ForeignKey(ActionStatus, on_delete=models.PROTECT, related_name="actions")
    status_reason = models.TextField(
        blank=True, help_text="Why: needed when the action will not be done."
    )
    progress = models.PositiveSmallIntegerField(
        default=0, validators=PROGRESS_VALIDATORS, help_text="How far along, from 0 to 100."
    )
    start_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="A bigger action this one is part of.",
    )
    proposal = models.ForeignKey(
        Proposal,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="actions",
        help_text="The workshop proposal this action carries out.",
    )
    # Made by the proposal_accepted receiver: at most one such action per proposal.
    created_from_proposal = models.BooleanField(default=False, editable=False)
    themes = ParentalManyToManyField(Theme, blank=True, related_name="actions")
    # The linked themes by stable key and label, as they were linked: a later theme run makes
    # new Theme rows, and a merge or removal must still be explained (selectors.themes_of).
    theme_refs = models.JSONField(default=list, blank=True, editable=False)
    public_summary = models.TextField(
        blank=True,
        help_text="What was done, in plain words, for the public page. Do not name anyone.",
    )
    visibility = models.CharField(
        max_length=10, choices=ActionVisibility.choices, default=ActionVisibility.TEAM
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_on = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    panels = [
        FieldPanel("project"),
        FieldPanel("title"),
        FieldPanel("description"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("owner"), FieldPanel("team")]),
                FieldRowPanel([FieldPanel("status"), FieldPanel("progress")]),
                FieldPanel("status_reason"),
                FieldRowPanel([FieldPanel("start_date"), FieldPanel("due_date")]),
            ],
            heading="Who, how far, when",
        ),
        MultiFieldPanel(
            [FieldPanel("proposal"), FieldPanel("themes"), FieldPanel("parent")],
            heading="Where it came from",
        ),
        MultiFieldPanel(
            [
                HelpPanel(
                    "Only actions marked public appear on the “You said, we did” page, and only "
                    "when a story behind them may be shared publicly."
                ),
                FieldPanel("visibility"),
                FieldPanel("public_summary"),
            ],
            heading="Public page",
        ),
    ]

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="action_progress_0_100"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(due_date__isnull=True)
                | Q(due_date__gte=F("start_date")),
                name="action_due_not_before_start",
            ),
            models.UniqueConstraint(
                fields=["proposal"],
                condition=Q(created_from_proposal=True),
                name="one_action_created_per_proposal",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def needs_new_owner(self) -> bool:
        """No owner, or one whose account has been closed: flagged for reassignment."""
        return self.owner_id is None or not self.owner.is_active

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return bool(self.due_date and self.due_date < today and not self.status.is_closed)


def evidence_name(extension: str) -> str:
    return f"actions/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


class ActionUpdate(models.Model):
    """News about an action: what was done, a status change, new progress, and evidence
    (a document or picture, kept in private storage)."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    date = models.DateField(default=timezone.localdate)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    status_from = models.ForeignKey(
        ActionStatus, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_to = models.ForeignKey(
        ActionStatus, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    progress = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=PROGRESS_VALIDATORS
    )
    evidence = models.FileField(storage=private_storage, max_length=200, blank=True)
    evidence_original_name = models.CharField(max_length=255, blank=True)
    evidence_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | Q(progress__lte=100),
                name="update_progress_0_100",
            )
        ]

    def __str__(self):
        return f"Update of {self.action_id} on {self.date}"

    @property
    def changes_status(self) -> bool:
        return self.status_to_id is not None and self.status_to_id != self.status_from_id


class ReminderSent(models.Model):
    """One overdue reminder, so that the daily task never sends the same one twice a day."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action", "user", "sent_on"], name="one_reminder_a_day")
        ]

    def __str__(self):
        return f"Reminder for action {self.action_id} on {self.sent_on}"


class StatusNotice(models.Model):
    """A reporter told about a status change of an action linked to their stories (once)."""

    update = models.ForeignKey(ActionUpdate, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["update", "user"], name="one_notice_per_update")
        ]

    def __str__(self):
        return f"Notice of update {self.update_id} to user {self.user_id}"
