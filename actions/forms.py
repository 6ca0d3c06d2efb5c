"""Forms for actions: the admin edit form (choices limited to what the editor may use) and
the update form managers post news with. Saving goes through actions.services."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.widgets import AdminDateInput

from actions import selectors
from actions.models import Action, ActionStatus
from cms.models import ProjectPage
from themes.models import Theme
from workshops.models import Proposal

PROGRESS_MESSAGE = "Progress must be a whole number from 0 to 100."


class ThemeChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_label} ({obj.project.title})"


class ActionForm(WagtailAdminModelForm):
    """The snippet form. `edit_version` carries the version the page was opened at, so a
    save from a stale page is refused (actions.services.StaleEdit)."""

    edit_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Action
        fields = "__all__"
        error_messages = {
            "progress": {
                "min_value": PROGRESS_MESSAGE,
                "max_value": PROGRESS_MESSAGE,
                "invalid": PROGRESS_MESSAGE,
            }
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        creatable = selectors.action_projects_for_user(user=user, roles=selectors.CREATE_ROLES)
        if "project" in self.fields:
            if self.instance.pk:
                self.fields["project"].queryset = ProjectPage.objects.filter(
                    pk=self.instance.project_id
                )
                self.fields["project"].disabled = True
                projects = ProjectPage.objects.filter(pk=self.instance.project_id)
            else:
                self.fields["project"].queryset = creatable
                projects = creatable
                if creatable.count() == 1:
                    self.fields["project"].initial = creatable.first().pk
        else:
            projects = creatable
        if "owner" in self.fields:
            keep = Q(pk__in=selectors.owner_candidates(projects=projects).values("pk"))
            if self.instance.owner_id:
                keep |= Q(pk=self.instance.owner_id)  # even when their account was closed
            self.fields["owner"].queryset = (
                get_user_model().objects.filter(keep).order_by("username")
            )
            self.fields["owner"].label_from_instance = _person
        if "status" in self.fields:
            self.fields["status"].queryset = ActionStatus.objects.order_by("sort_order", "pk")
            if not self.instance.pk:
                first = self.fields["status"].queryset.first()
                self.fields["status"].initial = first.pk if first else None
        if "themes" in self.fields:
            themes = Theme.objects.filter(
                project__in=projects,
                run__is_current=True,
                merged_into__isnull=True,
                split_into=[],
            ).select_related("project")
            field = ThemeChoiceField(
                queryset=themes.order_by("project__title", "hidden", "-size", "pk"),
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label="Themes",
                help_text="The themes this action answers.",
            )
            self.fields["themes"] = field
            if self.instance.pk:
                # Links to themes of an earlier analysis show as today's themes.
                self.initial["themes"] = [
                    t.pk
                    for linked in selectors.linked_themes(self.instance)
                    for t in linked.current
                ]
                notes = [linked.note for linked in selectors.linked_themes(self.instance)]
                if any(notes):
                    field.help_text = " ".join(n for n in notes if n)
        if "parent" in self.fields:
            parents = selectors.actions_visible_to(user=user).filter(project__in=projects)
            if self.instance.pk:
                parents = parents.exclude(pk=self.instance.pk)
            self.fields["parent"].queryset = parents
        if "proposal" in self.fields:
            proposals = Proposal.objects.none()
            for project in projects:
                proposals = proposals | Proposal.objects.filter(
                    workshop__path__startswith=project.path
                )
            self.fields["proposal"].queryset = proposals.select_related("workshop")
            self.fields["proposal"].label_from_instance = _proposal
        if self.instance.pk and not self.is_bound:
            self.initial["edit_version"] = (
                Action.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            )
        for name in ("start_date", "due_date"):
            if name in self.fields:
                self.fields[name].widget = AdminDateInput()

    def service_values(self) -> dict:
        """The cleaned values the services take."""
        data = self.cleaned_data
        fields = [
            "title",
            "description",
            "owner",
            "team",
            "status",
            "status_reason",
            "progress",
            "start_date",
            "due_date",
            "parent",
            "proposal",
            "themes",
            "public_summary",
            "visibility",
        ]
        return {name: data[name] for name in fields if name in data}


def _person(user) -> str:
    name = user.get_full_name() or user.get_username()
    return name if user.is_active else f"{name} (account closed)"


def _proposal(proposal) -> str:
    return f"{proposal.title} ({proposal.workshop.title})"


class UpdateForm(forms.Form):
    """A manager's news about an action."""

    text = forms.CharField(
        label="What happened",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Plain words: what was done, what is next.",
    )
    status = forms.ModelChoiceField(
        queryset=ActionStatus.objects.order_by("sort_order", "pk"),
        required=False,
        label="Status",
        empty_label="Keep the status",
    )
    status_reason = forms.CharField(
        label="Why (needed for some statuses, such as won't do)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    progress = forms.IntegerField(
        label="Progress (0 to 100)",
        required=False,
        error_messages={"invalid": PROGRESS_MESSAGE},
    )
    date = forms.DateField(
        label="Date", required=False, widget=AdminDateInput, help_text="Blank: today."
    )
    evidence = forms.FileField(
        label="Evidence (optional)",
        required=False,
        help_text="A PDF document or a JPEG or PNG picture. Only the project team can open it.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
