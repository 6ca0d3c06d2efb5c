"""Public URLs of actions: the "You said, we did" page and evidence files (permission-checked)."""

from django.urls import path

from actions import views

app_name = "actions"

urlpatterns = [
    path("you-said-we-did/<slug:project_slug>/", views.you_said_we_did, name="you_said_we_did"),
    path("private/actions/evidence/<int:update_id>/", views.serve_evidence, name="evidence"),
]
