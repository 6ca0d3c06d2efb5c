from django.urls import path

from stories import views

app_name = "stories"

urlpatterns = [
    path("private/media/<uuid:media_id>/", views.serve_recording, name="recording"),
    path(
        "private/consent/<int:consent_id>/", views.serve_consent_evidence, name="consent_evidence"
    ),
]
