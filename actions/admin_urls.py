"""Admin URLs of actions (registered under /admin/actions/ by wagtail_hooks)."""

from django.urls import path

from actions import reports, views

app_name = "actions_admin"

urlpatterns = [
    path("<int:action_id>/", views.action_detail, name="detail"),
    path("<int:action_id>/stories/", views.action_stories, name="stories"),
    path("<int:action_id>/update/", views.action_post_update, name="post_update"),
    path("story/<int:story_id>/", views.story_impact, name="impact"),
    path("dashboard/", reports.ActionsReportView.as_view(), name="report"),
    path(
        "dashboard/results/",
        reports.ActionsReportView.as_view(results_only=True),
        name="report_results",
    ),
]
