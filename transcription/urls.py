from django.urls import path

from transcription import clip_views, editor_views, views

app_name = "transcription"

urlpatterns = [
    path("stories/<int:story_id>/transcription/progress/", views.progress, name="progress"),
    # --- Transcript editor (issue 4): admin-styled pages, for admin users only -------------
    path("stories/<int:story_id>/transcript/", editor_views.editor, name="editor"),
    path(
        "stories/<int:story_id>/transcript/lines/<int:segment_id>/",
        editor_views.segment_action,
        name="editor_segment",
    ),
    path(
        "stories/<int:story_id>/transcript/lines/<int:segment_id>/changes/",
        editor_views.segment_history,
        name="editor_history",
    ),
    path(
        "stories/<int:story_id>/transcript/checked/",
        editor_views.transcript_verify,
        name="editor_verify",
    ),
    path(
        "stories/<int:story_id>/transcript/redactions/",
        editor_views.redact,
        name="editor_redact",
    ),
    # --- Clips and captions (issue 4) -------------------------------------------------------
    path("clips/", clip_views.clip_list, name="clip_index"),
    path("clips/new/", clip_views.clip_create, name="clip_create"),
    path("clips/<int:clip_id>/", clip_views.clip_detail, name="clip"),
    path("clips/<int:clip_id>/status/", clip_views.clip_status, name="clip_status"),
    path("clips/<int:clip_id>/retry/", clip_views.clip_retry, name="clip_retry"),
    path("clips/<int:clip_id>/media/", clip_views.clip_media, name="clip_media"),
    path("clips/<int:clip_id>/captions/", clip_views.clip_captions, name="clip_captions"),
    path("projects/<slug:project_slug>/clips/", clip_views.clip_list, name="clips"),
    path(
        "stories/<int:story_id>/captions/<str:fmt>/",
        clip_views.story_captions,
        name="story_captions",
    ),
]
