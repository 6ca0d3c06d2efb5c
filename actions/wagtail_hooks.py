"""The admin side of actions: the Action snippet (every view answers 404 for another
project's action, saves go through actions.services), the statuses stewards configure, the
dashboard report and home-page panel, the story's impact-trail button, and log actions."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import URLPattern, include, path, reverse
from django.utils.functional import cached_property
from django_filters import BooleanFilter, ModelChoiceFilter
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import ObjectList
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import Button
from wagtail.permission_policies.base import BasePermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.chooser import (
    ChooseResultsView,
    ChooseView,
    SnippetChooserViewSet,
    SnippetChosenMultipleView,
    SnippetChosenView,
    SnippetCreateView,
)
from wagtail.snippets.views.snippets import CreateView, EditView, IndexView, SnippetViewSet

from actions import admin_urls, selectors, services
from actions.forms import ActionForm
from actions.models import Action, ActionStatus
from cms.roles import user_is_steward
from stories.models import StoryPage
from stories.selectors import stories_visible_to

# --- Permission policies (registered before any viewset asks for one) -------------------------


class ActionPermissionPolicy(BasePermissionPolicy):
    """By project role, not Django model permissions: facilitators and managers add
    actions, managers change them, data stewards do everything; only stewards delete."""

    def _roles(self, action: str) -> set | None:
        return {
            "add": selectors.CREATE_ROLES,
            "change": selectors.EDIT_ROLES,
            "view": selectors.READ_ROLES,
        }.get(action)

    def user_has_permission(self, user, action):
        if not user.is_authenticated or not user.is_active:
            return False
        if action == "delete":
            return user_is_steward(user)
        roles = self._roles(action)
        return bool(roles) and selectors.action_projects_for_user(user=user, roles=roles).exists()

    def user_has_permission_for_instance(self, user, action, instance):
        if action == "delete":
            return user.is_authenticated and user_is_steward(user)
        roles = self._roles(action)
        return bool(roles) and (
            selectors.action_projects_for_user(user=user, roles=roles)
            .filter(pk=instance.project_id)
            .exists()
        )

    def instances_user_has_any_permission_for(self, user, actions):
        if "delete" in actions and user_is_steward(user):
            return Action.objects.all()
        found = Action.objects.none()
        for action in actions:
            roles = self._roles(action)
            if roles:
                found = found | selectors.actions_visible_to(user=user, roles=roles)
        return found

    def users_with_any_permission(self, actions):
        return get_user_model().objects.filter(is_active=True, groups__isnull=False).distinct()


class StewardOnlyPolicy(BasePermissionPolicy):
    """Statuses are configured by data stewards; a status in use is never deleted."""

    def user_has_permission(self, user, action):
        return user.is_authenticated and user_is_steward(user)

    def user_has_permission_for_instance(self, user, action, instance):
        if action == "delete" and instance.actions.exists():
            return False
        return self.user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        return get_user_model().objects.filter(is_active=True, groups__name="Data stewards")


register_permission_policy(Action, ActionPermissionPolicy(Action))
register_permission_policy(ActionStatus, StewardOnlyPolicy(ActionStatus))


# --- The Action snippet --------------------------------------------------------------------------


class ActionFilterSet(WagtailFilterSet):
    project = ModelChoiceFilter(
        label="Project",
        queryset=lambda request: selectors.action_projects_for_user(user=request.user),
    )
    status = ModelChoiceFilter(
        label="Status", queryset=ActionStatus.objects.order_by("sort_order", "pk")
    )
    needs_owner = BooleanFilter(label="Needs a new owner", method="filter_needs_owner")

    class Meta:
        model = Action
        fields = ["project", "status"]

    def filter_needs_owner(self, queryset, name, value):
        if value is None:
            return queryset
        orphan = queryset.filter(owner__isnull=True) | queryset.filter(owner__is_active=False)
        return orphan if value else queryset.exclude(pk__in=orphan.values("pk"))


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class _ServiceSaveMixin:
    """Saves through actions.services; their ValidationErrors (including a refused stale
    save) show on the form, with the person's input kept."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        # Autosave would save half-typed actions (and every save is an audit-log entry).
        self.autosave_enabled = False

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ValidationError as error:
            _add_errors(form, error)
            self.produced_error_code = "validation_error"
            if isinstance(error, services.StaleEdit):
                self.produced_error_message = error.messages[0]
            else:
                self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class ActionCreateView(_ServiceSaveMixin, CreateView):
    def save_instance(self):
        values = self.form.service_values()
        action = services.action_create(
            project=self.form.cleaned_data["project"], user=self.request.user, **values
        )
        self.new_revision = action.latest_revision
        return action


class ActionEditView(_ServiceSaveMixin, EditView):
    def save_instance(self):
        action = services.action_edit(
            action=Action.objects.get(pk=self.object.pk),
            user=self.request.user,
            expected_version=self.form.cleaned_data.get("edit_version"),
            **self.form.service_values(),
        )
        self.new_revision = action.latest_revision
        return action

    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        buttons.append(
            Button(
                "Updates and trace",
                url=reverse("actions_admin:detail", args=[self.object.pk]),
                icon_name="list-ul",
                priority=5,
            )
        )
        return buttons


class ActionIndexView(IndexView):
    def get_base_queryset(self):
        return selectors.actions_visible_to(user=self.request.user)


def _owner_label(action) -> str:
    if action.needs_new_owner:
        return "Needs a new owner"
    return action.owner.get_full_name() or action.owner.get_username()


# --- The action chooser (e.g. a parent action): only actions the viewer may see ----------------


class ActionChooseView(ChooseView):
    def get_object_list(self):
        return selectors.actions_visible_to(user=self.request.user)


class ActionChooseResultsView(ChooseResultsView):
    def get_object_list(self):
        return selectors.actions_visible_to(user=self.request.user)


class ActionChosenView(SnippetChosenView):
    def get_object(self, pk):
        # 404 (never 403, never the title) for an action the viewer may not see.
        return selectors.action_get_for_user(user=self.request.user, action_id=pk)


class ActionChosenMultipleView(SnippetChosenMultipleView):
    def get_objects(self, pks):
        ids = [pk for pk in pks if str(pk).isdigit()]
        return selectors.actions_visible_to(user=self.request.user).filter(pk__in=ids)


class ActionChooserCreateView(SnippetCreateView):
    """The chooser has no "Create" tab (actions are added on their own form): its URL, which
    Wagtail keeps, answers 404 instead of failing on the missing form."""

    def dispatch(self, request, *args, **kwargs):
        if self.get_creation_form_class() is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class ActionChooserViewSet(SnippetChooserViewSet):
    choose_view_class = ActionChooseView
    choose_results_view_class = ActionChooseResultsView
    chosen_view_class = ActionChosenView
    chosen_multiple_view_class = ActionChosenMultipleView
    create_view_class = ActionChooserCreateView


class ActionViewSet(SnippetViewSet):
    model = Action
    chooser_viewset_class = ActionChooserViewSet
    icon = "tasks"
    menu_label = "Actions"
    menu_order = 260
    add_to_admin_menu = True
    index_view_class = ActionIndexView
    add_view_class = ActionCreateView
    edit_view_class = ActionEditView
    copy_view_enabled = False
    inspect_view_enabled = False
    filterset_class = ActionFilterSet
    search_fields = ["title", "description"]
    search_backend_name = None
    list_display = [
        "title",
        "project",
        Column("owner", label="Owner", accessor=_owner_label),
        Column("status", label="Status", accessor=lambda a: a.status.label),
        Column("progress", label="Progress", accessor=lambda a: f"{a.progress}%"),
        DateColumn("due_date", label="Due"),
        Column("overdue", label="Overdue", accessor=lambda a: "Overdue" if a.is_overdue() else ""),
    ]
    ordering = ["due_date", "pk"]
    edit_handler = ObjectList(Action.panels, base_form_class=ActionForm)

    def get_queryset(self, request):
        return selectors.actions_visible_to(user=request.user)

    def get_urlpatterns(self):
        # Every view of one action answers 404 to someone who may not see it, before
        # Wagtail's own checks (history, revisions, compare, usage...).
        guarded = []
        for pattern in super().get_urlpatterns():
            if isinstance(pattern, URLPattern) and "<" in str(pattern.pattern):
                pattern = URLPattern(
                    pattern.pattern, _guard(pattern.callback), pattern.default_args, pattern.name
                )
            guarded.append(pattern)
        return guarded


def _guard(view):
    def visible_actions_only(request, *args, **kwargs):
        if "pk" in kwargs:
            selectors.action_get_for_user(user=request.user, action_id=unquote(str(kwargs["pk"])))
        return view(request, *args, **kwargs)

    return visible_actions_only


class ActionStatusDeleteView(generic.DeleteView):
    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ProtectedError:
            messages.error(
                self.request,
                f"“{self.object}” is the status of some actions or their updates, so it cannot "
                "be deleted. Give those actions another status first.",
            )
            return redirect(self.index_url_name)


class ActionStatusViewSet(ModelViewSet):
    model = ActionStatus
    delete_view_class = ActionStatusDeleteView
    icon = "list-ol"
    menu_label = "Action statuses"
    add_to_settings_menu = True
    name = "action_statuses"
    copy_view_enabled = False
    form_fields = [
        "label",
        "public_label",
        "key",
        "default_progress",
        "reason_required",
        "is_closed",
        "sort_order",
    ]
    list_display = ["label", "public_label", "default_progress", "reason_required", "is_closed"]
    ordering = ["sort_order", "pk"]


register_snippet(ActionViewSet)


@hooks.register("register_admin_viewset")
def register_status_viewset():
    return ActionStatusViewSet()


@hooks.register("register_admin_urls")
def register_actions_admin_urls():
    return [path("actions/", include(admin_urls, namespace="actions_admin"))]


class ReportMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.action_projects_for_user(user=request.user).exists()


@hooks.register("register_reports_menu_item")
def register_actions_report_menu_item():
    return ReportMenuItem(
        "Actions dashboard",
        reverse("actions_admin:report"),
        name="actions-dashboard",
        icon_name="tasks",
        order=100,
    )


# --- Home page panel -------------------------------------------------------------------------


class ActionsHomePanel(Component):
    name = "actions_dashboard"
    template_name = "actions/admin/home_panel.html"
    order = 90

    def __init__(self, request):
        self.request = request

    @cached_property
    def projects(self):
        return list(selectors.action_projects_for_user(user=self.request.user)[:5])

    def is_shown(self, parent_context=None):
        return bool(self.projects)

    def render_html(self, parent_context=None):
        if not self.projects:
            return ""
        return super().render_html(parent_context)

    def get_context_data(self, parent_context):
        figures = [
            selectors.dashboard(user=self.request.user, project=project)
            for project in self.projects
        ]
        return {"figures": figures, "request": self.request}


@hooks.register("construct_homepage_panels")
def add_actions_panel(request, panels):
    panels.append(ActionsHomePanel(request))


# --- Buttons -----------------------------------------------------------------------------------


@hooks.register("register_page_header_buttons")
def story_impact_button(page, user, view_name, next_url=None):
    if (
        page.specific_class is StoryPage
        and stories_visible_to(user=user).filter(pk=page.pk).exists()
    ):
        yield Button(
            "What happened because of this story",
            reverse("actions_admin:impact", args=[page.pk]),
            icon_name="list-ul",
            priority=90,
        )


@hooks.register("register_snippet_listing_buttons")
def action_listing_buttons(snippet, user, next_url=None):
    if isinstance(snippet, Action):
        yield Button(
            "Updates and trace",
            reverse("actions_admin:detail", args=[snippet.pk]),
            icon_name="list-ul",
            priority=5,
        )


# --- Audit log -------------------------------------------------------------------------------


@hooks.register("register_log_actions")
def register_action_log_actions(actions):
    for action, label in [
        ("update", "Action update posted"),
        ("from_proposal", "Action made from an accepted workshop proposal"),
        ("reminder", "Overdue reminder sent"),
        ("reporters_told", "Reporters told about a status change"),
        ("evidence_view", "Action evidence opened"),
    ]:
        actions.register_action(f"storyloom.actions.{action}", label, label)
