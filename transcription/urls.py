from django.urls import path

from transcription import views

app_name = "transcription"

urlpatterns = [
    path("stories/<int:story_id>/transcription/progress/", views.progress, name="progress"),
]
