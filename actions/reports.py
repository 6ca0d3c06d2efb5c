"""The actions dashboard: a Wagtail report (with spreadsheet export) of one project's
actions, with the figures managers look at above the list."""

import datetime

import django_filters
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.reports import ReportView

from actions import selectors
from actions.models import Action, ActionStatus


def _readable_projects(request):
    return selectors.action_projects_for_user(user=request.user)


class ActionsReportFilterSet(WagtailFilterSet):
    project = django_filters.ModelChoiceFilter(
        label="Project",
        queryset=_readable_projects,
        empty_label=None,
        method="filter_nothing",  # the view picks the project (the figures need one)
    )
    status = django_filters.ModelChoiceFilter(
        label="Status", queryset=ActionStatus.objects.order_by("sort_order", "pk")
    )
    overdue = django_filters.BooleanFilter(label="Overdue", method="filter_overdue")

    class Meta:
        model = Action
        fields = ["project", "status"]

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        late = queryset.filter(due_date__lt=today, status__is_closed=False)
        return late if value else queryset.exclude(pk__in=late.values("pk"))


def _owner(action) -> str:
    if action.owner is None:
        return "Needs a new owner"
    name = action.owner.get_full_name() or action.owner.get_username()
    return name if action.owner.is_active else f"{name} (account closed: needs a new owner)"


class ActionsReportView(ReportView):
    page_title = "Actions dashboard"
    header_icon = "tasks"
    template_name = "actions/admin/report.html"
    results_template_name = "actions/admin/report_results.html"
    filterset_class = ActionsReportFilterSet
    index_url_name = "actions_admin:report"
    index_results_url_name = "actions_admin:report_results"
    paginate_by = 100
    list_export = [
        "pk",
        "title",
        "project.title",
        "owner_display",
        "team",
        "status.label",
        "progress",
        "start_date",
        "due_date",
        "overdue",
        "theme_labels",
        "proposal_title",
        "workshop_date",
        "first_update_days",
        "visibility",
    ]
    export_headings = {
        "pk": "Action",
        "title": "Title",
        "project.title": "Project",
        "owner_display": "Owner",
        "team": "Team",
        "status.label": "Status",
        "progress": "Progress (%)",
        "start_date": "Start",
        "due_date": "Due",
        "overdue": "Overdue",
        "theme_labels": "Themes",
        "proposal_title": "Workshop proposal",
        "workshop_date": "Workshop date",
        "first_update_days": "Days from workshop to first update",
        "visibility": "Visibility",
    }

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated or not _readable_projects(request).exists():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_filename(self):
        return f"actions-{self.project.slug}-{datetime.date.today():%Y-%m-%d}"

    @cached_property
    def project(self):
        projects = _readable_projects(self.request)
        chosen = self.request.GET.get("project")
        if chosen:
            project = projects.filter(pk=chosen).first() if chosen.isdigit() else None
            if project is None:
                raise Http404
            return project
        return projects.first()

    def get_queryset(self):
        return (
            selectors.actions_visible_to(user=self.request.user, project=self.project)
            .prefetch_related("themes")
            .order_by("due_date", "pk")
        )

    @cached_property
    def columns(self):
        return [
            TitleColumn(
                "title",
                label="Action",
                get_url=lambda action: reverse("actions_admin:detail", args=[action.pk]),
            ),
            Column("owner_display", label="Owner"),
            Column("status", label="Status", accessor=lambda a: a.status.label),
            Column("progress", label="Progress", accessor=lambda a: f"{a.progress}%"),
            DateColumn("due_date", label="Due"),
            Column("overdue", label="Overdue", accessor=lambda a: "Overdue" if a.overdue else ""),
            Column("theme_labels", label="Themes"),
            Column(
                "first_update_days",
                label="Days to first update",
                accessor=lambda a: "" if a.first_update_days is None else a.first_update_days,
            ),
        ]

    def decorate_paginated_queryset(self, object_list):
        actions = list(object_list)
        today = timezone.localdate()
        waits = selectors.first_update_days(actions)
        linked = selectors.linked_themes_for(actions)
        for action in actions:
            action.owner_display = _owner(action)
            action.overdue = action.is_overdue(today)
            action.first_update_days = waits.get(action.pk)
            action.theme_labels = "; ".join(
                t.display_label for lt in linked[action.pk] for t in lt.current
            )
            action.proposal_title = action.proposal.title if action.proposal_id else ""
            workshop = action.proposal.workshop if action.proposal_id else None
            action.workshop_date = workshop.date if workshop else None
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["figures"] = selectors.dashboard(user=self.request.user, project=self.project)
        context["project"] = self.project
        context["public_url"] = reverse("actions:you_said_we_did", args=[self.project.slug])
        return context
