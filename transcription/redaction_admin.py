"""The "Names to hide" admin: name lists kept per project (data stewards) and per story (the
story's reporter, or a steward). Every write goes through redaction_services; a reporter
sees the lists of their own stories only. Registered in wagtail_hooks."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from cms.admin_viewsets import without_views
from cms.models import ProjectGroup, ProjectPage
from cms.roles import Role, user_is_steward
from stories.models import StoryPage
from stories.selectors import stories_visible_to
from transcription import redaction_services, selectors
from transcription.models import NameListEntry


def _is_reporter(user) -> bool:
    return ProjectGroup.objects.filter(group__user=user, role=Role.REPORTER).exists()


class NameListPolicy(ModelPermissionPolicy):
    """Entries are added and removed (never edited) by stewards and reporters; which
    entries each may touch is decided by selectors.name_list_visible_to."""

    def user_has_permission(self, user, action):
        if action not in {"add", "delete", "view"} or not user.is_active:
            return False
        return user_is_steward(user) or _is_reporter(user)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def user_has_permission_for_instance(self, user, action, instance):
        return (
            self.user_has_permission(user, action)
            and selectors.name_list_visible_to(user=user).filter(pk=instance.pk).exists()
        )


register_permission_policy(NameListEntry, NameListPolicy(NameListEntry))


class NameListEntryForm(WagtailAdminModelForm):
    class Meta:
        model = NameListEntry
        fields = ["term", "kind", "story", "project"]
        labels = {
            "term": "Name, place or organisation",
            "kind": "What it is",
            "story": "For one story",
            "project": "For every story in a project",
        }
        help_texts = {
            "term": "It will be suggested for hiding wherever it is said. "
            "Write it as people say it, for example “Dave Smith”.",
            "story": "Choose a story, or (data stewards only) a project.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.for_user
        steward = user is not None and user_is_steward(user)
        if steward:
            self.fields["story"].queryset = StoryPage.objects.order_by("title")
            self.fields["project"].queryset = ProjectPage.objects.order_by("title")
        else:
            self.fields["story"].queryset = (
                stories_visible_to(user=user).filter(reporter=user).order_by("title")
                if user is not None
                else StoryPage.objects.none()
            )
            self.fields["project"].queryset = ProjectPage.objects.none()
            self.fields["project"].widget = forms.HiddenInput()
        self.fields["story"].required = False
        self.fields["project"].required = False

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("story")) == bool(cleaned.get("project")):
            raise ValidationError("Please choose one story, or one project.")
        return cleaned


class NameListCreateView(generic.CreateView):
    success_message = "“%(object)s” will be suggested for hiding wherever it is said."

    def get_success_buttons(self):
        return []  # entries are not edited: taken off and added again

    def get_initial(self):
        initial = super().get_initial()
        if story_id := self.request.GET.get("story"):
            initial["story"] = story_id
        return initial

    def save_instance(self):
        data = self.form.cleaned_data
        return redaction_services.name_list_add(
            user=self.request.user,
            term=data["term"],
            kind=data["kind"],
            project=data.get("project"),
            story=data.get("story"),
        )

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, getattr(error, "messages", None) or str(error))
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class NameListIndexView(generic.IndexView):
    def get_base_queryset(self):
        return selectors.name_list_visible_to(user=self.request.user)


class NameListDeleteView(generic.DeleteView):
    success_message = "“%(object)s” was taken off the names to hide."

    def get_object(self, queryset=None):
        return super().get_object(selectors.name_list_visible_to(user=self.request.user))

    def delete_action(self):
        redaction_services.name_list_remove(user=self.request.user, entry=self.object)


def _owner(entry: NameListEntry) -> str:
    if entry.story_id:
        return f"Story: {entry.story.title}"
    return f"Project: {entry.project.title}"


class NameListViewSet(ModelViewSet):
    model = NameListEntry
    name = "name_list"
    icon = "user"
    menu_label = "Names to hide"
    menu_order = 240
    add_to_admin_menu = True
    form_fields = ["term", "kind", "story", "project"]
    index_view_class = NameListIndexView
    add_view_class = NameListCreateView
    delete_view_class = NameListDeleteView
    copy_view_enabled = False
    inspect_view_enabled = False
    list_display = [
        "term",
        Column("kind", label="What it is", accessor="get_kind_display"),
        Column("owner", label="Hidden in", accessor=_owner),
        DateColumn("created_at", label="Added"),
    ]
    list_filter = ["kind"]
    ordering = ["term"]
    add_item_label = "Add a name to hide"

    def get_form_class(self, for_update=False):
        return NameListEntryForm

    def get_common_view_kwargs(self, **kwargs):
        hidden = {f"{name}_url_name": None for name in ("edit", "history", "usage", "copy")}
        return super().get_common_view_kwargs(**{**hidden, **kwargs})

    def get_urlpatterns(self):
        return without_views(
            super().get_urlpatterns(), {"edit", "copy", "history", "history_results", "usage"}
        )
