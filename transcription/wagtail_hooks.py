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

from cms.admin_viewsets import ReadOnlyModelViewSet, visible_objects_only
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
        return visible_objects_only(
            super().get_urlpatterns() + [path("<int:pk>/retry/", retry_view, name="retry")],
            lambda user: selectors.jobs_needing_attention(user=user),
        )


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


@hooks.register("register_admin_viewset")
def register_name_list_viewset():
    from transcription.redaction_admin import NameListViewSet

    return NameListViewSet()


@hooks.register("register_log_actions")
def register_redaction_log_actions(actions):
    # The log data names the redaction, segment and kind, never the hidden words.
    for action, label in [
        ("redaction.suggest", "Possible personal details found"),
        ("redaction.accept", "Words hidden"),
        ("redaction.reject", "Words kept (not hidden)"),
        ("redaction.add", "Words hidden (selected by hand)"),
        ("redaction.reanchor", "Hidden words followed an edit"),
        ("namelist.add", "Name added to the names to hide"),
        ("namelist.remove", "Name taken off the names to hide"),
    ]:
        actions.register_action(f"storyloom.{action}", label, label)


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


# --- Transcript editor (issue 4) -----------------------------------------------------------


@hooks.register("register_log_actions")
def register_transcript_editor_log_actions(actions):
    # The log data names the segment and what kind of change it was, never the words.
    for action, label in [
        ("edit", "Transcript line corrected"),
        ("speaker", "Speaker of a transcript line chosen"),
        ("verify", "Transcript line checked (or unchecked)"),
        ("verify_all", "Whole transcript checked (or unchecked)"),
        ("revert", "Transcript line put back as it was"),
        ("view_unredacted", "Transcript opened before redaction"),
    ]:
        actions.register_action(f"storyloom.transcript.{action}", label, label)


@hooks.register("register_page_header_buttons")
def transcript_editor_button(page, user, view_name, next_url=None):
    """The story's admin page menu gets "Transcript", for whoever may open its editor."""
    from wagtail.admin.widgets.button import Button

    from stories.models import StoryPage
    from stories.selectors import stories_visible_to
    from transcription.models import Transcript

    if not issubclass(page.specific_class or type(page), StoryPage):
        return
    if not Transcript.objects.filter(story_id=page.pk, is_current=True).exists():
        return
    if not stories_visible_to(user=user).filter(pk=page.pk).exists():
        return
    yield Button(
        "Transcript",
        reverse("transcription:editor", kwargs={"story_id": page.pk}),
        icon_name="doc-full",
        priority=45,
    )


@hooks.register("register_page_listing_more_buttons")
def transcript_editor_listing_button(page, user, next_url=None):
    """The same "Transcript" in a story's row of the page listings (Stories): facilitators,
    who cannot edit stories, never see the story's header, and open transcripts (to make
    clips) from there."""
    yield from transcript_editor_button(page, user, view_name="listing", next_url=next_url)


# --- Clips, captions and the redacted playable copy (issue 4: AUDIO+CLIPS) -----------------


@hooks.register("register_log_actions")
def register_clip_log_actions(actions):
    for action, label in [
        ("storyloom.clip.create", "Clip made"),
        ("storyloom.clip.render", "Clip sound made (redacted words silenced)"),
        ("storyloom.clip.text_only", "Clip kept as words only (no consent to play the voice)"),
        ("storyloom.clip.failed", "Clip could not be made"),
        ("storyloom.clip.retry", "Clip will be made again"),
        ("storyloom.clip.view", "Clip played"),
        ("storyloom.transcript.download", "Transcript or captions downloaded (redacted)"),
        ("storyloom.media.redacted_copy", "Playable copy made again with redactions silenced"),
    ]:
        actions.register_action(action, label, label)


@hooks.register("register_admin_menu_item")
def register_clips_menu_item():
    """The "Clips" admin menu item, for whoever takes part in a project."""
    from wagtail.admin.menu import MenuItem

    from cms.selectors import projects_for_user

    class ClipsMenuItem(MenuItem):
        def is_shown(self, request):
            return projects_for_user(user=request.user).exists()

    return ClipsMenuItem("Clips", reverse("transcription:clip_index"), icon_name="media", order=240)
