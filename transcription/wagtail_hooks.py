"""The stewards' admin view of transcriptions that need attention (failed, or needing a new
recording), with a "try again" button, and the audit-log actions of transcription."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods
from wagtail import hooks
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from cms.admin_viewsets import ReadOnlyModelViewSet
from cms.roles import user_is_steward
from transcription import selectors, services
from transcription.models import TranscriptionJob


class StewardsOnlyPolicy(ModelPermissionPolicy):
    """Jobs are changed by services only; data stewards may look at them."""

    def user_has_permission(self, user, action):
        return action == "view" and user_is_steward(user)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)


register_permission_policy(TranscriptionJob, StewardsOnlyPolicy(TranscriptionJob))


def _retry_button(job) -> str:
    return format_html(
        '<a class="button button-small button-secondary" href="{}">Try again</a>',
        reverse("transcription_jobs:retry", args=[job.pk]),
    )


class JobIndexView(generic.IndexView):
    def get_base_queryset(self):
        return selectors.jobs_needing_attention(user=self.request.user)


class JobInspectView(generic.InspectView):
    def get_object(self, queryset=None):
        return super().get_object(selectors.jobs_needing_attention(user=self.request.user))

    def get_fields(self):
        return ["story", "status", "error", "model", "attempts", "worker_id", "finished_at"]


class TranscriptionJobViewSet(ReadOnlyModelViewSet):
    model = TranscriptionJob
    name = "transcription_jobs"
    icon = "warning"
    menu_label = "Transcription problems"
    menu_order = 230
    add_to_admin_menu = True
    index_view_class = JobIndexView
    inspect_view_class = JobInspectView
    list_display = [
        "story",
        "status",
        Column("error", label="What went wrong", accessor=lambda job: job.error[:200]),
        "attempts",
        DateColumn("finished_at", label="Stopped at"),
        Column("retry", label="", accessor=_retry_button),
    ]
    list_filter = ["status"]
    ordering = ["-finished_at"]

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [path("<int:pk>/retry/", retry_view, name="retry")]


@require_http_methods(["GET", "POST"])
def retry_view(request, pk):
    job = get_object_or_404(selectors.jobs_needing_attention(user=request.user), pk=pk)
    if request.method == "POST":
        try:
            services.job_retry(job=job, user=request.user)
        except (PermissionDenied, ValidationError) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, f"“{job.story.title}” will be transcribed again.")
        return redirect("transcription_jobs:index")
    return TemplateResponse(request, "transcription/admin/retry_confirm.html", {"job": job})


@hooks.register("register_admin_viewset")
def register_transcription_viewsets():
    return [TranscriptionJobViewSet()]


@hooks.register("register_log_actions")
def register_transcription_log_actions(actions):
    for action, label in [
        ("queue", "Transcription queued"),
        ("start", "Transcription started"),
        ("retry", "Transcription will be tried again"),
        ("requeue", "Transcription restarted after its worker stopped"),
        ("done", "Transcription finished"),
        ("failed", "Transcription failed"),
        ("needs_reupload", "Transcription needs a new recording"),
        ("accept", "Transcript accepted"),
    ]:
        actions.register_action(f"storyloom.transcription.{action}", label, label)
