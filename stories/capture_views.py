"""The reporter's side of the site: record or upload a story, see what happened to it."""

import errno
import logging
import os
import subprocess
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.core.paginator import Paginator
from django.db import DatabaseError, transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe
from wagtail.models import Page, WorkflowState

from cms.selectors import projects_for_reporting, projects_for_user
from stories import resumable, selectors, services, uploads
from stories.consent import EASY_READ, SCRIPT, SCRIPT_VERSION, script_text
from stories.forms import CaptureForm
from stories.models import StoryPage
from stories.panels import story_panels_many

logger = logging.getLogger(__name__)

SAVE_FAILED_MESSAGE = (
    "We could not save the story just now, because of a problem on the server. Nothing "
    "has been saved. Please try again later, and tell your data steward if it happens again."
)
FOLLOW_UP_DELAYED_MESSAGE = (
    "Turning the recording into text will start a little later than usual. "
    "You do not need to do anything."
)
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
    """The upload was refused part-way: remove every temporary file it made, now."""
    for handler in request.upload_handlers:
        handler.upload_interrupted()
    uploads.discard_uploads(request)


@csrf_exempt  # checked in _capture, once a too-big or broken upload has been turned away
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def capture(request, project_slug):
    project = _capture_project(request.user, project_slug)
    finished_upload = None
    if request.method == "POST":
        # A recording sent ahead by resumable upload (stories.resumable): 404 unless it is
        # the reporter's own, finished. It was counted against the limit when it began.
        finished_upload = resumable.finished_upload_for(request, project)
        counted = finished_upload is not None and resumable.use_credit(upload=finished_upload)
        refused = _refuse_before_reading(request, project, counted=counted) or _read_upload(
            request, project
        )
        if refused is not None:
            return refused
    return _capture(request, project, finished_upload)


def _refuse_before_reading(request, project, *, counted=False):
    """Answers that need none of the body: too many stories lately, no length, too big."""
    wait = 0 if counted else uploads.upload_wait_seconds(request.user)
    if wait:
        response = _upload_refused(
            request, project, message=uploads.rate_limit_message(wait), status=429
        )
        response["Retry-After"] = str(wait)
        return response
    if uploads.length_missing(request):
        return _upload_refused(
            request, project, message=uploads.LENGTH_REQUIRED_MESSAGE, status=411
        )
    if uploads.request_too_large(request):
        return _upload_refused(request, project, message=uploads.too_large_message(), status=413)
    return None


def _read_upload(request, project):
    """Stream the upload to temporary files, up to the limit; refuse it plainly if it was
    cut off, too big, malformed, or the disk is full. A refused upload leaves no file."""
    try:
        _ = request.FILES  # reading it streams the upload to disk, up to the limit
    except UnreadablePostError:
        message, status = INTERRUPTED_MESSAGE, 400
    except TooManyFilesSent:
        message, status = uploads.TOO_MANY_FILES_MESSAGE, 400
    except RequestDataTooBig:
        message, status = uploads.TEXT_TOO_LONG_MESSAGE, 413
    except (MultiPartParserError, TooManyFieldsSent):
        message, status = uploads.BROKEN_FORM_MESSAGE, 400
    except OSError as error:  # e.g. no space left for the temporary file
        logger.error("An upload could not be stored for checking: %s", error.strerror)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            message, status = uploads.NO_ROOM_MESSAGE, 507
        else:
            message, status = SAVE_FAILED_MESSAGE, 503
    else:
        if not getattr(request, "upload_too_large", False):
            return None
        message, status = uploads.too_large_message(), 413
    _discard_partial_upload(request)
    return _upload_refused(request, project, message=message, status=status)


@csrf_protect
def _capture(request, project, finished_upload=None):
    if request.method != "POST":
        form = CaptureForm(project=project, user=request.user)
        return render(request, "stories/capture.html", _form_context(project, form))
    files = request.FILES
    if finished_upload is not None:
        files = resumable.files_with_upload(
            files, upload=finished_upload, story_type=request.POST.get("story_type", "")
        )
    form = CaptureForm(request.POST, files, project=project, user=request.user)
    try:
        story = _create_and_submit(form, project=project, user=request.user)
    finally:
        resumable.close_files(files)
    if finished_upload is not None:
        resumable.upload_after_submit(upload=finished_upload, form=form, story=story)
    if story is None:
        # A problem with what was sent is the sender's (400); a full disk is ours (503).
        status = 503 if getattr(form, "server_problem", False) else 400
        if _wants_json(request):
            html = render_to_string(
                "stories/_capture_form.html", _form_context(project, form), request=request
            )
            return JsonResponse({"errors": _errors(form), "html": html}, status=status)
        return render(
            request,
            "stories/capture.html",
            _form_context(project, form),
            status=200 if status == 400 else status,
        )
    messages.success(
        request, "Thank you. The story has been saved and sent to the data steward to check."
    )
    if getattr(form, "follow_up_delayed", False):
        messages.info(request, FOLLOW_UP_DELAYED_MESSAGE)
    url = reverse("stories:story_status", args=[story.pk])
    return JsonResponse({"redirect": url}) if _wants_json(request) else redirect(url)


def _create_and_submit(form, *, project, user):
    """The story, created and sent to the steward in one go; None (and nothing stored)
    when the form or the services find a problem, or the server cannot store it (disk or
    database full, the task queue down: `form.server_problem` is then set)."""
    if not form.is_valid():
        return None
    story = None
    try:
        with transaction.atomic():
            storyteller = form.cleaned_data["storyteller"] or services.storyteller_get_or_create(
                project=project, pseudonym=form.cleaned_data["storyteller_new"], user=user
            )
            story = services.story_create(
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
    except (PermissionDenied, Http404):
        raise
    except Exception as error:
        if story is not None and _stored(story):
            # The story and its files were committed; what failed is the work queued after
            # the commit (e.g. the task queue is down). The story is safe, and is picked up
            # by `manage.py transcribe --pending` (run from cron) once the queue is back.
            logger.exception("Story %s was saved, but its follow-up work failed", story.pk)
            form.follow_up_delayed = True
            return story
        # A full disk or database, or a service the save needs that is down (Wagtail queues
        # a task as each page is saved: with Redis down, that fails). The rows were rolled
        # back, and services.story_create removed any file it had stored.
        logger.exception("A story could not be saved (%s)", type(error).__name__)
        form.add_error(None, SAVE_FAILED_MESSAGE)
        form.server_problem = True
        return None
    return story


def _stored(story) -> bool:
    try:
        return StoryPage.objects.filter(pk=story.pk).exists()
    except DatabaseError:
        return False


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
        "consent_easy_read": EASY_READ,
        "max_upload_bytes": settings.STORYLOOM_MAX_UPLOAD_BYTES,
        "too_large_message": uploads.too_large_message(),
        "resumable_upload_url": reverse("stories:resumable_uploads", args=[project.slug]),
        "upload_chunk_bytes": settings.STORYLOOM_UPLOAD_CHUNK_BYTES,
    }


@require_safe
@login_required
def my_stories(request, project_slug):
    project = get_object_or_404(projects_for_user(user=request.user), slug=project_slug)
    # Newest added first (drafts too, the same on either database), a page at a time;
    # what a row shows is fetched for the whole page at once (workflow states, the
    # panels), so the queries do not grow with the stories.
    stories = selectors.stories_visible_to(user=request.user, project=project).order_by("-pk")
    page = Paginator(stories, MY_STORIES_PER_PAGE).get_page(request.GET.get("page"))
    page_stories = list(page.object_list)
    _prefetch_workflow_states(page_stories)
    panels = story_panels_many(page_stories, request.user, compact=True)
    rows = [
        {
            "story": story,
            "approval": approval_state(story),
            "panels": mark_safe("".join(panels.get(story.pk, []))),
        }
        for story in page_stories
    ]
    context = {"project": project, "rows": rows, "page": page}
    return render(request, "stories/my_stories.html", context)


MY_STORIES_PER_PAGE = 20


def _prefetch_workflow_states(stories) -> None:
    """What story.current_workflow_state reads, for a page of stories in one query. (Not
    Wagtail's prefetch_workflow_states(): on a StoryPage queryset it looks for the states
    under StoryPage's content type and finds none; they are kept under Page's.)"""
    drafts = [story for story in stories if not story.live]
    if not drafts:
        return
    states: dict[str, list] = {}
    for state in (
        WorkflowState.objects.active()
        .filter(
            base_content_type=ContentType.objects.get_for_model(Page),
            object_id__in=[str(story.pk) for story in drafts],
        )
        .select_related("current_task_state__task")
        .order_by("-created_at", "-pk")
    ):
        states.setdefault(state.object_id, []).append(state)
    for story in drafts:
        story._current_workflow_states = states.get(str(story.pk), [])


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
    # ?words=easy speaks the easy-read words instead of the script.
    easy = request.GET.get("words") == "easy"
    path = settings.VAR_DIR / "consent-audio" / f"{SCRIPT_VERSION}{'-easy' if easy else ''}.wav"
    if not path.exists():
        try:
            _speak(script_text(easy=easy), path)
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
