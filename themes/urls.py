"""Admin URLs for themes (registered under /admin/themes/ by wagtail_hooks)."""

from django.urls import path

from themes import views

app_name = "themes_admin"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:project_id>/", views.project_themes, name="project"),
    path("<int:project_id>/run/", views.run_start, name="run_start"),
    path("<int:project_id>/status.json", views.run_status, name="run_status"),
    path("<int:project_id>/theme/<int:theme_id>/", views.theme_detail, name="theme"),
    path(
        "<int:project_id>/theme/<int:theme_id>/<slug:action>/",
        views.theme_action,
        name="theme_action",
    ),
    path("<int:project_id>/chart/<slug:name>.<slug:fmt>", views.chart, name="chart"),
]
