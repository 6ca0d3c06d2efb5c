"""Clips: make one (from the transcript editor), its page with progress and a captioned
player, its sound and captions; and a story's captions and transcript downloads.

Admin-styled pages, like the transcript editor. Every read goes through a selector that
takes the viewer, and anything the viewer may not see is a 404. Thin: writes through
clip_services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from wagtail.admin.auth import require_admin_access
from wagtail.log_actions import log

from cms.selectors import projects_for_user
from stories.http import serve_private_file
from stories.selectors import story_get_for_user
from transcription import captions, clip_services, selectors
from transcription.models import ClipStatus, Speaker

CAPTION_FORMATS = {
    "vtt": ("text/vtt; charset=utf-8", captions.webvtt),
    "srt": ("application/x-subrip; charset=utf-8", captions.srt),
    "txt": ("text/plain; charset=utf-8", None),
}

STATUS_MESSAGES = {
    ClipStatus.QUEUED: "Waiting to be made. You do not need to do anything.",
    ClipStatus.RENDERING: "Being made. You can leave this page and come back.",
    ClipStatus.DONE: "The clip is ready.",
    ClipStatus.FAILED: "",
    ClipStatus.TEXT_ONLY: (
        "The storyteller did not agree to their voice being played, so this clip is "
        "their words only."
    ),
}


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _editor_url(story_id) -> str | None:
    try:
        return reverse("transcription:editor", kwargs={"story_id": story_id})
    except NoReverseMatch:
        return None


def _back(request, story) -> str:
    """Where a refused clip returns to: the page the form was on (this site only), else the
    transcript editor, else the story's page."""
    target = request.POST.get("next") or request.headers.get("Referer", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return _editor_url(story.pk) or reverse("stories:story_status", args=[story.pk])


def clip_progress(clip) -> dict:
    """What the clip page shows about the clip's making, as plain data (the page polls it)."""
    playable = selectors.clip_playable(clip)
    consent = clip.story.current_consent
    allowed = consent is not None and consent.quote and consent.voice
    # A finished clip older than the latest redaction is being made again.
    waiting = clip.status in (ClipStatus.QUEUED, ClipStatus.RENDERING) or (
        clip.status == ClipStatus.DONE and not playable and allowed
    )
    if clip.status == ClipStatus.FAILED:
        message = clip.error.split("\n\nTechnical detail:")[0]
    elif waiting:
        message = STATUS_MESSAGES[ClipStatus.QUEUED]
        if clip.status == ClipStatus.RENDERING:
            message = STATUS_MESSAGES[ClipStatus.RENDERING]
    else:
        message = STATUS_MESSAGES[clip.status]
    if playable or clip.status == ClipStatus.TEXT_ONLY:
        percent = 100
    elif clip.status in (ClipStatus.QUEUED, ClipStatus.RENDERING):
        percent = clip.progress
    else:
        percent = 0  # failed, or finished but being made again
    return {
        "clip": clip.pk,
        "status": clip.status,
        "label": clip.get_status_display(),
        "percent": percent,
        "finished": not waiting,
        "playable": playable,
        "message": message,
    }


# --- Making a clip ------------------------------------------------------------------------


@require_POST
@require_admin_access
def clip_create(request):
    """POST story_id, and first_segment/last_segment (ids) or start/end (seconds), and an
    optional title. On success, the clip's page; if refused, back with the reason."""
    story = story_get_for_user(user=request.user, story_id=request.POST.get("story_id"))
    try:
        clip = clip_services.clip_create(
            user=request.user,
            story=story,
            first_segment=request.POST.get("first_segment") or None,
            last_segment=request.POST.get("last_segment") or None,
            start=request.POST.get("start") or None,
            end=request.POST.get("end") or None,
            title=request.POST.get("title", ""),
        )
    except (ValidationError, PermissionDenied) as error:
        message = " ".join(getattr(error, "messages", None) or [str(error)])
        status = 403 if isinstance(error, PermissionDenied) else 400
        if _wants_json(request):
            return JsonResponse({"error": message}, status=status)
        if isinstance(error, PermissionDenied):
            raise
        messages.error(request, message)
        return redirect(_back(request, story))
    url = reverse("transcription:clip", args=[clip.pk])
    if _wants_json(request):
        return JsonResponse({"clip": clip.pk, "url": url}, status=201)
    if clip.status == ClipStatus.TEXT_ONLY:
        messages.success(request, "Clip made. It is the storyteller’s words only, with no sound.")
    else:
        messages.success(request, "Clip made. Its sound is being prepared.")
    return redirect(url)


# --- The clip page ------------------------------------------------------------------------


@never_cache
@require_safe
@require_admin_access
def clip_detail(request, clip_id):
    clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
    story = clip.story
    progress = clip_progress(clip)
    context = {
        "clip": clip,
        "story": story,
        "project": story.get_project(),
        "progress": progress,
        "consent": story.current_consent,
        "can_retry": clip.status == ClipStatus.FAILED
        and selectors.can_make_clips(user=request.user, story=story),
        "editor_url": _editor_url(story.pk),
        "length": (clip.end - clip.start) if clip.start is not None else None,
        "speaker_label": dict(Speaker.choices).get(clip.speaker, clip.speaker),
    }
    return TemplateResponse(request, "transcription/clip.html", context)


@never_cache
@require_safe
@require_admin_access
def clip_status(request, clip_id):
    clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
    return JsonResponse(clip_progress(clip))


@require_POST
@require_admin_access
def clip_retry(request, clip_id):
    clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
    try:
        clip_services.clip_retry(clip=clip, user=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", None) or [str(error)]))
    else:
        messages.success(request, "The clip will be made again.")
    return redirect("transcription:clip", clip_id=clip.pk)


@require_safe
@require_admin_access
def clip_list(request, project_slug=None):
    """The clips the viewer may see: of one project, or of all theirs."""
    projects = projects_for_user(user=request.user)
    project = get_object_or_404(projects, slug=project_slug) if project_slug else None
    clips = selectors.clips_visible_to(user=request.user, project=project)
    return TemplateResponse(
        request,
        "transcription/clip_list.html",
        {"project": project, "projects": projects, "clips": clips},
    )


# --- The clip's sound and captions ----------------------------------------------------------


@require_safe
@require_admin_access
def clip_media(request, clip_id):
    """The clip's sound (HTTP Range for seeking): only once it is finished, while the
    storyteller agrees to it being played, and never from before the latest redaction."""
    clip = selectors.clip_media_get_for_user(user=request.user, clip_id=clip_id)

    def opened():
        log(
            instance=clip.story,
            action="storyloom.clip.view",
            user=request.user,
            data={"clip": clip.pk},
        )

    extension = clip.file.name.rsplit(".", 1)[-1] if "." in clip.file.name else "m4a"
    return serve_private_file(
        request,
        clip.file,
        content_type=clip.content_type or "audio/mp4",
        filename=f"clip-{clip.pk}.{extension}",
        on_open=opened,
    )


def _text_response(body: str, *, content_type: str, filename: str, attachment: bool):
    response = HttpResponse(body, content_type=content_type)
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
@require_admin_access
def clip_captions(request, clip_id):
    """The clip's WebVTT captions (the redacted words), for the player's caption track."""
    clip = selectors.clip_get_for_user(user=request.user, clip_id=clip_id)
    if not clip.captions:
        raise Http404
    return _text_response(
        clip.captions,
        content_type="text/vtt; charset=utf-8",
        filename=f"clip-{clip.pk}.vtt",
        attachment="download" in request.GET,
    )


@require_safe
@require_admin_access
def story_captions(request, story_id, fmt):
    """A story's captions (WebVTT, SRT) or transcript (plain text), redacted, as a download.
    404 for anyone who may not see the story."""
    if fmt not in CAPTION_FORMATS:
        raise Http404
    story, segments = selectors.caption_segments_for_user(user=request.user, story_id=story_id)
    content_type, writer = CAPTION_FORMATS[fmt]
    if not segments:
        return _plain_404("This story has no transcript yet. Please try again later.")
    if writer is None:
        body = captions.plain_text(segments, title=story.title)
    else:
        cues = captions.story_cues(segments)
        if not cues:
            return _plain_404(
                "This story was written, not recorded, so it has no captions. "
                "Download the text instead."
            )
        body = writer(cues)
    log(
        instance=story,
        action="storyloom.transcript.download",
        user=request.user,
        data={"format": fmt},
    )
    return _text_response(
        body, content_type=content_type, filename=f"story-{story.pk}.{fmt}", attachment=True
    )


def _plain_404(message: str) -> HttpResponse:
    return HttpResponse(message, status=404, content_type="text/plain; charset=utf-8")
