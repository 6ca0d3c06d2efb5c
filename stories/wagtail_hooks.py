"""The admin side of stories: stewards' storyteller and consent views, the Stories listing,
and the hooks that keep other people's stories out of the page explorer, chooser and
search."""

import swapper
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django_filters import ChoiceFilter, ModelChoiceFilter
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, UserColumn
from wagtail.admin.views import generic
from wagtail.admin.views.pages.listing import IndexView as PageIndexView
from wagtail.admin.views.pages.listing import PageFilterSet
from wagtail.admin.views.pages.search import SearchView as PageSearchView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.viewsets.pages import PageListingViewSet, PageViewSet
from wagtail.log_actions import LogFormatter
from wagtail.models import WorkflowState
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permission_policies.pages import PagePermissionPolicy
from wagtail.permissions import policy_registry, register_permission_policy

from cms.admin_viewsets import ReadOnlyModelViewSet, visible_objects_only, without_views
from cms.models import ProjectPage
from cms.roles import user_is_steward
from cms.selectors import projects_for_user
from stories import selectors, services
from stories.models import (
    CONSENT_SCOPES,
    Consent,
    ErasureKind,
    ErasureRequest,
    StoryPage,
    Storyteller,
    StorytellerRole,
)

Page = swapper.load_model("wagtailcore", "Page")


# --- Permission policies: what the admin may offer at all ---------------------------------
# Registered before any viewset asks for one (Wagtail 8: register_permission_policy).


class _RefusingPolicy(ModelPermissionPolicy):
    """Django model permissions, minus actions the admin must never offer for this model."""

    refused: frozenset[str] = frozenset()

    def user_has_permission(self, user, action):
        return action not in self.refused and super().user_has_permission(user, action)


class StorytellerPolicy(_RefusingPolicy):
    # Reporters add storytellers through the capture form; stories PROTECT them.
    refused = frozenset({"add", "delete"})


class ConsentPolicy(_RefusingPolicy):
    # Consent versions are made by services only and never changed.
    refused = frozenset({"add", "change", "delete"})


register_permission_policy(Storyteller, StorytellerPolicy(Storyteller))
register_permission_policy(Consent, ConsentPolicy(Consent))


class ErasurePolicy(_RefusingPolicy):
    # Erasures are started by withdrawing consent (or by retention), never by hand here.
    refused = frozenset({"add", "change", "delete"})


register_permission_policy(ErasureRequest, ErasurePolicy(ErasureRequest))


# --- Storytellers -------------------------------------------------------------------------


class StorytellerFilterSet(WagtailFilterSet):
    project = ModelChoiceFilter(
        label="Project",
        queryset=lambda request: projects_for_user(user=request.user),
    )

    class Meta:
        model = Storyteller
        fields = ["project", "age_band"]


class StorytellerIndexView(generic.IndexView):
    def get_base_queryset(self):
        return selectors.storytellers_visible_to(user=self.request.user)


class StorytellerEditView(generic.EditView):
    def get_queryset(self):
        return selectors.storytellers_visible_to(user=self.request.user)

    def save_instance(self):
        fields = {
            name: self.form.cleaned_data[name]
            for name in services.STORYTELLER_EDITABLE
            if name in self.form.cleaned_data
        }
        # The form has already written its values onto form.instance: give the service
        # the stored row so that it can tell what really changed.
        return services.storyteller_update(
            storyteller=Storyteller.objects.get(pk=self.form.instance.pk),
            user=self.request.user,
            **fields,
        )

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ValidationError as error:
            form.add_error(None, error)
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class StorytellerViewSet(ModelViewSet):
    model = Storyteller
    name = "storytellers"
    icon = "user"
    menu_label = "Storytellers"
    menu_order = 210
    add_to_admin_menu = True
    index_view_class = StorytellerIndexView
    edit_view_class = StorytellerEditView
    copy_view_enabled = False
    list_display = ["pseudonym", "project", "age_band", "gender", DateColumn("created_at")]
    filterset_class = StorytellerFilterSet
    search_fields = ["pseudonym"]
    search_backend_name = None
    ordering = ["pseudonym"]

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            **{"add_url_name": None, "delete_url_name": None, **kwargs}
        )

    def get_urlpatterns(self):
        return visible_objects_only(
            without_views(super().get_urlpatterns(), {"add", "delete"}),
            lambda user: selectors.storytellers_visible_to(user=user),
        )


# --- Consent history ----------------------------------------------------------------------


class ConsentFilterSet(WagtailFilterSet):
    project = ModelChoiceFilter(
        label="Project",
        queryset=lambda request: projects_for_user(user=request.user),
        method="filter_project",
    )
    withdrawn = ChoiceFilter(
        label="Withdrawn",
        empty_label="Any",
        choices=[("yes", "Withdrawn or narrowed"), ("no", "Given")],
        method="filter_withdrawn",
    )

    class Meta:
        model = Consent
        fields = []

    def filter_project(self, queryset, name, value):
        return queryset.filter(story__path__startswith=value.path) if value else queryset

    def filter_withdrawn(self, queryset, name, value):
        if value in ("yes", "no"):
            return queryset.filter(is_withdrawal=value == "yes")
        return queryset


def _scope_summary(consent: Consent) -> str:
    return ", ".join(consent.scope_labels()) or "Nothing"


class ConsentIndexView(generic.IndexView):
    def get_base_queryset(self):
        return selectors.consents_visible_to(user=self.request.user)


class ConsentInspectView(generic.InspectView):
    def get_object(self, queryset=None):
        return super().get_object(selectors.consents_visible_to(user=self.request.user))

    def get_fields(self):
        return [
            "story",
            "version",
            "scopes",
            "method",
            "is_withdrawal",
            "evidence",
            "script_version",
            "note",
            "recorded_by",
            "recorded_at",
        ]

    def get_field_label(self, field_name, field):
        labels = {"scopes": "Agreed to", "is_withdrawal": "Withdrawal", "evidence": "Evidence"}
        return labels.get(field_name) or super().get_field_label(field_name, field)

    def get_scopes_display_value(self):
        return _scope_summary(self.object)

    def get_is_withdrawal_display_value(self):
        return "Yes: consent was narrowed or withdrawn" if self.object.is_withdrawal else "No"

    def get_evidence_display_value(self):
        if not self.object.evidence:
            return "No evidence file"
        return format_html(
            '<a href="{}">Open the evidence ({})</a>',
            reverse("stories:consent_evidence", args=[self.object.pk]),
            self.object.evidence_content_type or "file",
        )


class ConsentViewSet(ReadOnlyModelViewSet):
    model = Consent
    name = "consent"
    icon = "doc-full"
    menu_label = "Consent history"
    menu_order = 220
    add_to_admin_menu = True
    index_view_class = ConsentIndexView
    inspect_view_class = ConsentInspectView
    list_display = [
        "story",
        "version",
        Column("scopes", label="Agreed to", accessor=_scope_summary),
        "method",
        BooleanColumn("is_withdrawal", label="Withdrawal"),
        UserColumn("recorded_by", label="Recorded by"),
        DateColumn("recorded_at", label="Recorded at"),
    ]
    filterset_class = ConsentFilterSet
    search_fields = ["story__title"]
    search_backend_name = None
    ordering = ["-recorded_at"]

    def get_urlpatterns(self):
        return visible_objects_only(
            super().get_urlpatterns(), lambda user: selectors.consents_visible_to(user=user)
        )


def _erasures_visible_to(user):
    if user.is_authenticated and user_is_steward(user):
        return ErasureRequest.objects.all()
    return ErasureRequest.objects.none()


# --- Stories listing ----------------------------------------------------------------------


STATUS_CHOICES = [
    ("draft", "Draft"),
    ("waiting", "Waiting for approval"),
    ("approved", "Approved"),
]


def _ids_in_workflow() -> list[int]:
    states = WorkflowState.objects.active().filter(
        base_content_type=ContentType.objects.get_for_model(Page)
    )
    return [int(pk) for pk in states.values_list("object_id", flat=True)]


class StoryFilterSet(PageFilterSet):
    project = ModelChoiceFilter(
        label="Project",
        queryset=lambda request: projects_for_user(user=request.user),
        method="filter_project",
    )
    status = ChoiceFilter(
        label="Status", empty_label="Any", choices=STATUS_CHOICES, method="filter_status"
    )
    storyteller_role = ChoiceFilter(
        label="Storyteller", empty_label="Anyone", choices=StorytellerRole.choices
    )

    class Meta:
        model = StoryPage
        fields = []

    def filter_project(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path) if value else queryset

    def filter_status(self, queryset, name, value):
        if value == "draft":
            return queryset.filter(live=False).exclude(pk__in=_ids_in_workflow())
        if value == "waiting":
            return queryset.filter(pk__in=_ids_in_workflow())
        if value == "approved":
            return queryset.filter(live=True)
        return queryset


class StoryListingView(PageIndexView):
    """Every story the viewer may see, and only those (selectors.stories_visible_to)."""

    def get_base_queryset(self):
        visible = selectors.stories_visible_to(user=self.request.user)
        pages = StoryPage.objects.filter(pk__in=visible.values("pk"))
        return self.annotate_queryset(pages)

    def get_add_url(self):
        return None  # stories are added through the capture form, with consent

    @cached_property
    def project_titles(self) -> dict[str, str]:
        return dict(ProjectPage.objects.values_list("path", "title"))

    @cached_property
    def columns(self):
        depth = ProjectPage.objects.values_list("depth", flat=True).first() or 3
        prefix = depth * Page.steplen
        return [
            *[c for c in self.base_columns if c.name in ("bulk_actions", "title")],
            Column(
                "project",
                label="Project",
                accessor=lambda page: self.project_titles.get(page.path[:prefix], ""),
            ),
            Column(
                "reporter",
                label="Reporter",
                accessor=lambda page: page.reporter and page.reporter.get_username(),
            ),
            Column(
                "storyteller_role", label="Storyteller", accessor="get_storyteller_role_display"
            ),
            *[c for c in self.base_columns if c.name in ("latest_revision_created_at", "status")],
        ]


class StoryListingViewSet(PageListingViewSet):
    model = StoryPage
    name = "story_listing"
    url_prefix = "stories"
    icon = "doc-full-inverse"
    menu_label = "Stories"
    menu_order = 200
    add_to_admin_menu = True
    index_view_class = StoryListingView
    filterset_class = StoryFilterSet

    @cached_property
    def menu_item_class(self):
        needed = self.index_view_class.any_permission_required

        class StoriesMenuItem(MenuItem):
            def is_shown(self, request):
                policy = policy_registry.get_by_type(Page)
                return policy.user_has_any_permission(request.user, needed)

        return StoriesMenuItem


# --- Page views: other people's stories stay out of sight ---------------------------------


def _hide_invisible_stories(pages, user):
    visible = selectors.stories_visible_to(user=user).values("pk")
    hidden = StoryPage.objects.exclude(pk__in=visible).values("pk")
    return pages.exclude(pk__in=hidden)


class StoryAwarePagePolicy(PagePermissionPolicy):
    def explorable_instances(self, user):
        return _hide_invisible_stories(super().explorable_instances(user), user)


class StoryAwareSearchView(PageSearchView):
    @cached_property
    def permission_policy(self):
        return StoryAwarePagePolicy(Page)


def _hidden_parent_is_404(request, kwargs) -> None:
    """The explorer and "add a page here" opened at a page the explorer hides from the
    viewer (every app's construct_explorer_page_queryset hook: another project's story or
    workshop) answer 404, as the page's own views do, rather than Wagtail's redirect."""
    if "parent_page_id" not in kwargs:
        return
    pages = Page.objects.filter(pk=kwargs["parent_page_id"])
    page = pages.first()
    if page is None or page.is_root():
        return
    for hook in hooks.get_hooks("construct_explorer_page_queryset"):
        pages = hook(page.get_parent(), pages, request)
    if not pages.exists():
        raise Http404


class BasePageViewSet(PageViewSet):
    """Wagtail's own page views, with a page search that leaves out hidden stories (the
    admin page search has no queryset hook)."""

    model = Page
    search_view_class = StoryAwareSearchView

    def get_view_by_name(self, name):
        view = super().get_view_by_name(name)

        def hidden_parents_404(request, *args, **kwargs):
            _hidden_parent_is_404(request, kwargs)
            return view(request, *args, **kwargs)

        return hidden_parents_404


class StoryPageViewSet(PageViewSet):
    """Every admin view of one story (edit, history, revisions, preview, workflow...) answers
    404 to someone who may not see the story, before Wagtail's own permission checks."""

    model = StoryPage

    def get_view_by_name(self, name):
        view = super().get_view_by_name(name)

        def visible_stories_only(request, *args, **kwargs):
            # "pk": the revisions comparison names the page so.
            for key in ("page_id", "page_to_move_id", "pk"):
                if key in kwargs:
                    selectors.story_get_for_user(user=request.user, story_id=kwargs[key])
            _hidden_parent_is_404(request, kwargs)
            return view(request, *args, **kwargs)

        return visible_stories_only


# --- Erasures: progress and certificates, for data stewards --------------------------------


def _ledger_summary(request) -> str:
    removed = {}
    for step in request.ledger.values():
        for kind, count in step.get("removed", {}).items():
            removed[kind] = removed.get(kind, 0) + count
    return ", ".join(f"{count} {kind}" for kind, count in sorted(removed.items())) or "—"


class ErasureInspectView(generic.InspectView):
    def get_fields(self):
        return [
            "reference",
            "kind",
            "reason",
            "scopes_removed",
            "status",
            "steps",
            "removed",
            "requested_by",
            "requested_at",
            "finished_at",
            "error",
        ]

    def get_field_label(self, field_name, field):
        labels = {
            "steps": "Steps done",
            "removed": "What was removed",
            "scopes_removed": "Consent withdrawn for",
        }
        return labels.get(field_name) or super().get_field_label(field_name, field)

    def get_steps_display_value(self):
        return ", ".join(f"{name} ({done['at'][:19]})" for name, done in self.object.ledger.items())

    def get_removed_display_value(self):
        return _ledger_summary(self.object)

    def get_scopes_removed_display_value(self):
        labels = [CONSENT_SCOPES.get(s, s) for s in self.object.scopes_removed]
        return "; ".join(labels) or "—"


class ErasureViewSet(ReadOnlyModelViewSet):
    model = ErasureRequest
    name = "erasures"
    icon = "bin"
    menu_label = "Erasures"
    menu_order = 230
    add_to_admin_menu = True
    inspect_view_class = ErasureInspectView
    list_display = [
        "reference",
        "kind",
        "status",
        Column("removed", label="Removed", accessor=_ledger_summary),
        DateColumn("requested_at", label="Asked for"),
        DateColumn("finished_at", label="Finished"),
    ]
    list_filter = ["status", "kind", "reason"]
    ordering = ["-requested_at"]

    def get_urlpatterns(self):
        return visible_objects_only(super().get_urlpatterns(), _erasures_visible_to)


@hooks.register("register_admin_viewset")
def register_story_viewsets():
    return [
        StorytellerViewSet(),
        ConsentViewSet(),
        StoryListingViewSet(),
        StoryPageViewSet(),
        ErasureViewSet(),
    ]


# After Wagtail's own base page viewset (order 0), so that this one replaces it.
@hooks.register("register_admin_viewset", order=1)
def register_base_page_viewset():
    return BasePageViewSet()


@hooks.register("construct_explorer_page_queryset")
def hide_stories_in_explorer(parent_page, pages, request):
    return _hide_invisible_stories(pages, request.user)


@hooks.register("construct_page_chooser_queryset")
def hide_stories_in_chooser(pages, request):
    return _hide_invisible_stories(pages, request.user)


@hooks.register("before_create_page")
def stories_come_from_the_capture_form(request, parent_page, page_class):
    if issubclass(page_class, StoryPage):
        messages.error(
            request,
            "Stories are added with the story form, so that consent is recorded with them.",
        )
        return redirect("story_listing:index")
    return None


@hooks.register("before_copy_page")
def stories_are_not_copied(request, page):
    if isinstance(page.specific, StoryPage):
        messages.error(request, "A story cannot be copied: each story has its own consent.")
        return redirect("story_listing:index")
    return None


# --- Audit log actions --------------------------------------------------------------------


class ErasureStartedFormatter(LogFormatter):
    """An erasure job started: "Anonymising started" for retention's anonymising (its kind
    is in the entry's data; nothing else is)."""

    label = "Erasure started"

    def format_message(self, log_entry):
        if (log_entry.data or {}).get("kind") == ErasureKind.ANONYMISE:
            return "Anonymising started"
        return "Erasure started"


@hooks.register("register_log_actions")
def register_story_log_actions(actions):
    actions.register_action(
        "storyloom.story.submit", "Story sent for approval", "Story sent for approval"
    )
    actions.register_action("storyloom.consent.record", "Consent recorded", "Consent recorded")
    actions.register_action(
        "storyloom.consent.withdraw",
        "Consent narrowed or withdrawn",
        "Consent narrowed or withdrawn",
    )
    actions.register_action("storyloom.media.view", "Recording opened", "Recording opened")
    actions.register_action("storyloom.erasure.request")(ErasureStartedFormatter)
    actions.register_action(
        "storyloom.consent.evidence_view",
        "Consent evidence opened",
        "Consent evidence opened",
    )
