from django.urls import path

from stories import capture_views, resumable, views

app_name = "stories"

urlpatterns = [
    path("private/media/<uuid:media_id>/", views.serve_recording, name="recording"),
    path(
        "private/consent/<int:consent_id>/", views.serve_consent_evidence, name="consent_evidence"
    ),
    path("capture/<slug:project_slug>/", capture_views.capture, name="capture"),
    # Resumable uploads (tus): begun with a POST here, continued at the address it answers.
    path(
        "capture/<slug:project_slug>/uploads/",
        resumable.upload_create,
        name="resumable_uploads",
    ),
    path(
        "capture/<slug:project_slug>/uploads/<uuid:upload_id>/",
        resumable.upload_detail,
        name="resumable_upload",
    ),
    path("my-stories/<slug:project_slug>/", capture_views.my_stories, name="my_stories"),
    path("stories/<int:story_id>/status/", capture_views.story_status, name="story_status"),
    path("consent-script.wav", capture_views.consent_script_audio, name="consent_script_audio"),
]
