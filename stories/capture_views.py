"""The reporter's side of the site: record or upload a story, see what happened to it."""

import os
import subprocess
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, HttpResponse, JsonResponse, UnreadablePostError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe
from wagtail.models import WorkflowState

from cms.selectors import projects_for_reporting, projects_for_user
from stories import selectors, services, uploads
from stories.consent import SCRIPT, SCRIPT_VERSION, script_text
from stories.forms import CaptureForm

INTERRUPTED_MESSAGE = (
    "The upload stopped before it finished, so nothing was saved. "
    "Please check your connection and send the story again."
)


def approval_state(story) -> str:
    """Where the story is on its way to the data steward, in the reporter's words."""
    if story.live:
        return "Approved for analysis"
    state = story.current_workflow_state
    if state is not None and state.status == WorkflowState.STATUS_IN_PROGRESS:
        return "Waiting for the data steward"
    if state is not None and state.status == WorkflowState.STATUS_NEEDS_CHANGES:
        return "Sent back to you for changes"
    return "Draft"


def _capture_project(user, project_slug):
    # Reporters record in their own projects; data stewards in any. Anyone else: 404.
    return get_object_or_404(projects_for_reporting(user=user), slug=project_slug)


def _wants_json(request) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _upload_refused(request, project, *, message, status):
    if _wants_json(request):
        return JsonResponse({"message": message}, status=status)
    context = {"project": project, "message": message}
    return render(request, "stories/upload_refused.html", context, status=status)


def _discard_partial_upload(request) -> None:
    """The client went away mid-upload: remove the half-written temporary file now."""
    for handler in request.upload_handlers:
        handler.upload_interrupted()


@csrf_exempt  # checked in _capture, once a too-big or broken upload has been turned away
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def capture(request, project_slug):
    project = _capture_project(request.user, project_slug)
    if request.method == "POST":
        # Refuse a body that announces itself as too big before reading any of it.
        if uploads.request_too_large(request):
            return _upload_refused(
                request, project, message=uploads.too_large_message(), status=413
            )
        try:
            _ = request.FILES  # reading it streams the upload to disk, up to the limit
        except UnreadablePostError:
            _discard_partial_upload(request)
            return _upload_refused(request, project, message=INTERRUPTED_MESSAGE, status=400)
        if getattr(request, "upload_too_large", False):
            return _upload_refused(
                request, project, message=uploads.too_large_message(), status=413
            )
    return _capture(request, project)


@csrf_protect
def _capture(request, project):
    if request.method != "POST":
        form = CaptureForm(project=project, user=request.user)
        return render(request, "stories/capture.html", _form_context(project, form))
    form = CaptureForm(request.POST, request.FILES, project=project, user=request.user)
    story = _create_and_submit(form, project=project, user=request.user)
    if story is None:
        if _wants_json(request):
            html = render_to_string(
                "stories/_capture_form.html", _form_context(project, form), request=request
            )
            return JsonResponse({"errors": _errors(form), "html": html}, status=400)
        return render(request, "stories/capture.html", _form_context(project, form))
    messages.success(
        request, "Thank you. The story has been saved and sent to the data steward to check."
    )
    url = reverse("stories:story_status", args=[story.pk])
    return JsonResponse({"redirect": url}) if _wants_json(request) else redirect(url)


def _create_and_submit(form, *, project, user):
    """The story, created and sent to the steward in one go; None (and nothing stored)
    when the form or the services find a problem."""
    if not form.is_valid():
        return None
    try:
        with transaction.atomic():
            storyteller = form.cleaned_data["storyteller"] or services.storyteller_get_or_create(
                project=project, pseudonym=form.cleaned_data["storyteller_new"], user=user
            )
            return services.story_create(
                project=project,
                reporter=user,
                story=form.story_input(storyteller),
                consent=form.consent_input(),
                submit=True,
                **form.story_content(),
            )
    except ValidationError as error:
        form.add_service_error(error)
        return None


def _errors(form) -> dict:
    return {
        field: [e["message"] for e in errors]
        for field, errors in form.errors.get_json_data().items()
    }


def _form_context(project, form):
    return {
        "project": project,
        "form": form,
        "consent_script": SCRIPT,
        "max_upload_bytes": settings.STORYLOOM_MAX_UPLOAD_BYTES,
        "too_large_message": uploads.too_large_message(),
    }


@require_safe
@login_required
def my_stories(request, project_slug):
    project = get_object_or_404(projects_for_user(user=request.user), slug=project_slug)
    # No prefetch_workflow_states(): on a StoryPage queryset it looks for the states under
    # StoryPage's content type and finds none. approval_state() queries drafts only.
    stories = selectors.stories_visible_to(user=request.user, project=project)
    rows = [{"story": story, "approval": approval_state(story)} for story in stories]
    return render(request, "stories/my_stories.html", {"project": project, "rows": rows})


@require_safe
@login_required
def story_status(request, story_id):
    story = selectors.story_get_for_user(user=request.user, story_id=story_id)
    recording, poster = selectors.story_player_media(user=request.user, story=story)
    context = {
        "story": story,
        "project": story.get_project(),
        "approval": approval_state(story),
        "consent": story.current_consent,
        "recording": recording,
        "poster": poster,
    }
    return render(request, "stories/story_status.html", context)


@require_safe
@login_required
def consent_script_audio(request):
    path = settings.VAR_DIR / "consent-audio" / f"{SCRIPT_VERSION}.wav"
    if not path.exists():
        try:
            _speak(script_text(), path)
        except (OSError, subprocess.SubprocessError):
            return HttpResponse(
                "The spoken version is not available just now. Please read the words aloud.",
                status=503,
                content_type="text/plain; charset=utf-8",
            )
    response = FileResponse(path.open("rb"), content_type="audio/wav")
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _speak(text: str, path) -> None:
    """Speak the text into a WAV file with espeak-ng, on this server. Written under a
    temporary name first so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".speaking-", suffix=".wav")
    os.close(handle)
    try:
        subprocess.run(
            ["espeak-ng", "-v", "en-gb", "-s", "140", "-w", partial, text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
