"""Admin URLs for workshops (registered under /admin/workshops/ by wagtail_hooks)."""

from django.urls import path

from workshops import views

app_name = "workshops"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/<int:project_id>/", views.create, name="create"),
    path("<int:workshop_id>/", views.detail, name="detail"),
    path("<int:workshop_id>/draft/", views.draft, name="draft"),
    path(
        "<int:workshop_id>/export/<slug:variant>.<slug:fmt>",
        views.export,
        name="export",
    ),
    path("<int:workshop_id>/outcomes/", views.outcomes, name="outcomes"),
    path("<int:workshop_id>/outcomes/proposal/", views.proposal_add, name="proposal_add"),
    path("<int:workshop_id>/outcomes/story/", views.significant_add, name="significant_add"),
    path(
        "<int:workshop_id>/outcomes/story/<int:chosen_id>/remove/",
        views.significant_remove,
        name="significant_remove",
    ),
    path("<int:workshop_id>/clip/<int:clip_id>/", views.clip, name="clip"),
    path("<int:workshop_id>/clip/<int:clip_id>/media", views.clip_media, name="clip_media"),
    path(
        "<int:workshop_id>/clip/<int:clip_id>/captions.vtt",
        views.clip_captions,
        name="clip_captions",
    ),
]
