"""The transcript editor: a story's transcript beside its recording, for the story's reporter
and data stewards to correct, label, check and redact; facilitators of the project read the
redacted text (and may cut clips). Anyone else gets a 404.

Every form works without JavaScript (a POST, then back to the editor, or the editor again
with the person's words kept when the save was refused); editor.js sends the same forms with
fetch and asks for JSON (`Accept: application/json`). Thin: reads through selectors, writes
through review_services and redaction_services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from wagtail.admin.auth import require_admin_access
from wagtail.log_actions import log

from cms.roles import user_is_steward
from stories.selectors import story_player_media
from transcription import review_services, selectors
from transcription.models import (
    PLACEHOLDERS,
    Redaction,
    RedactionKind,
    RedactionStatus,
    Segment,
    Speaker,
)
from transcription.review_services import EditConflict

SAVED = {
    "edit": "Line {n} saved.",
    "speaker": "Line {n}: speaker saved.",
    "verify": "Line {n} marked as checked.",
    "unverify": "Line {n} is no longer marked as checked.",
    "revert": "Line {n} is back as it was.",
}


# --- Helpers ---------------------------------------------------------------------------------


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _editor_url(story, *, flagged=False, anchor="") -> str:
    url = reverse("transcription:editor", kwargs={"story_id": story.pk})
    if flagged:
        url += "?show=flagged"
    return url + (f"#{anchor}" if anchor else "")


def _back(request, story, anchor="") -> str:
    """Where a form returns to: the editor (keeping its filter), never another site."""
    target = request.POST.get("next", "")
    editor = reverse("transcription:editor", kwargs={"story_id": story.pk})
    if target.startswith(editor) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target.split("#")[0] + (f"#{anchor}" if anchor else "")
    return _editor_url(story, anchor=anchor)


def clip_create_url() -> str | None:
    """The clip maker's address, or None while it is not installed (the button is hidden)."""
    try:
        return reverse("transcription:clip_create")
    except NoReverseMatch:
        return None


def _can_clip(user, story) -> bool:
    # The clip maker's own rule (AUDIO+CLIPS), when it is installed.
    check = getattr(selectors, "can_make_clips", None)
    return bool(clip_create_url()) and (check is None or check(user=user, story=story))


def _playable_being_prepared(user, story) -> bool:
    check = getattr(selectors, "playable_being_prepared", None)
    return bool(check and check(user=user, story=story))


def _clock(seconds) -> str:
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _where(text: str, mark: Redaction) -> tuple[int, int] | None:
    """A redaction's span in the text as it is now (re-anchoring keeps them in place; this
    only guards against showing a highlight over the wrong words)."""
    start, end = mark.start_char, mark.end_char
    if 0 <= start < end <= len(text) and text[start:end] == mark.original:
        return start, end
    at = text.find(mark.original) if mark.original else -1
    return (at, at + len(mark.original)) if at >= 0 else None


def text_pieces(text: str, marks: list[Redaction]) -> list[dict]:
    """The segment's words cut at every redaction boundary, each piece saying whether it is
    hidden from others (accepted) or suggested, so the editor can highlight them. The pieces
    put together are exactly the text: the browser counts characters over them."""
    spans = [(span, mark) for mark in marks if (span := _where(text, mark))]
    cuts = sorted({0, len(text), *(s for (s, _), _ in spans), *(e for (_, e), _ in spans)})
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        over = [mark for (s, e), mark in spans if s < end and e > start]
        accepted = [m for m in over if m.status == RedactionStatus.ACCEPTED]
        suggested = [m for m in over if m.status == RedactionStatus.SUGGESTED]
        shown = accepted or suggested
        pieces.append(
            {
                "text": text[start:end],
                "status": shown[0].status if shown else "",
                "placeholder": PLACEHOLDERS.get(shown[0].kind, "[redacted]") if shown else "",
                "kind": shown[0].get_kind_display() if shown else "",
            }
        )
    return pieces


def _prepare(segments: list[Segment], *, editable: bool, draft=None) -> list[Segment]:
    speakers = dict(Speaker.choices)
    for number, segment in enumerate(segments, start=1):
        segment.speaker_label = speakers.get(segment.speaker, segment.speaker)
        segment.draft = draft if draft and draft["segment"] == segment.pk else None
        segment.number = segment.index + 1 if segment.index is not None else number
        segment.time_label = _clock(segment.start)
        segment.end_label = _clock(segment.end)
        if editable:
            segment.pieces = text_pieces(segment.text, segment.redaction_marks)
    return segments


def _line_context(request, story, segment, *, editable, draft=None) -> dict:
    return {
        "story": story,
        "segment": segment,
        "can_edit": editable,
        "draft": draft,
        "speakers": Speaker.choices,
        "kinds": RedactionKind.choices,
        "clip_url": clip_create_url(),
        "can_clip": _can_clip(request.user, story),
        "has_player": story_player_media(user=request.user, story=story)[0] is not None,
        "next": request.POST.get("next") or request.get_full_path(),
        "request": request,
    }


def _render_line(request, story, segment_id) -> str:
    found = selectors.editor_segments(user=request.user, story=story, segment_id=segment_id)
    if not found:  # its transcript is no longer current
        return ""
    segment = found[0]
    _prepare([segment], editable=True)
    return render_to_string(
        "transcription/editor_line.html",
        _line_context(request, story, segment, editable=True),
        request=request,
    )


def _render_editor(request, story, editable: bool, *, draft=None, status=200):
    transcript = selectors.current_transcript(story)
    flagged_only = request.GET.get("show") == "flagged"
    every = selectors.editor_segments(user=request.user, story=story) if transcript else []
    to_check = [s for s in every if s.flags and s.verified_at is None]
    segments = to_check if flagged_only else every
    _prepare(every, editable=editable, draft=draft)
    recording, poster = story_player_media(user=request.user, story=story)
    redactions = (
        list(
            selectors.redactions_for_user(user=request.user, story=story).select_related("segment")
        )
        if editable and transcript
        else []
    )
    context = {
        "story": story,
        "transcript": transcript,
        "can_edit": editable,
        "segments": segments,
        "all_segments": every,
        "to_check": to_check,
        "flagged_only": flagged_only,
        "recording": recording,
        "poster": poster,
        "has_player": recording is not None,
        "suggestions": [r for r in redactions if r.status == RedactionStatus.SUGGESTED],
        "hidden": [r for r in redactions if r.status == RedactionStatus.ACCEPTED],
        "refused": review_services.editing_refused_because(transcript)
        if (editable and transcript)
        else "",
        "draft": draft,
        "speakers": Speaker.choices,
        "kinds": RedactionKind.choices,
        "clip_url": clip_create_url(),
        "can_clip": _can_clip(request.user, story),
        "preparing": recording is None and _playable_being_prepared(request.user, story),
        "is_steward": user_is_steward(request.user),
        "next": request.get_full_path(),
        "editor_url": _editor_url(story),
        "flagged_url": _editor_url(story, flagged=True),
        "redact_url": reverse("transcription:editor_redact", kwargs={"story_id": story.pk}),
    }
    return TemplateResponse(request, "transcription/editor.html", context, status=status)


def _int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            f"Something was missing from the form ({what}). Please try again."
        ) from None


def _messages_of(error: Exception) -> str:
    return " ".join(getattr(error, "messages", None) or [str(error)])


# --- The editor page -------------------------------------------------------------------------


@require_admin_access
@never_cache
@require_safe
def editor(request, story_id):
    story, editable = selectors.editor_story_for_user(user=request.user, story_id=story_id)
    if editable and request.method == "GET":
        # The reporter and stewards see the words as said, before redaction.
        log(
            instance=story,
            action="storyloom.transcript.view_unredacted",
            user=request.user,
            data={"story": story.pk},
        )
    return _render_editor(request, story, editable)


@require_admin_access
@never_cache
@require_safe
def segment_history(request, story_id, segment_id):
    """A line's changes, with what was removed and added, and "go back to this version"."""
    story, editable = selectors.editor_story_for_user(user=request.user, story_id=story_id)
    segment = selectors.editor_segment_get(user=request.user, story=story, segment_id=segment_id)
    context = {
        "story": story,
        "segment": segment,
        "number": segment.index + 1,
        "heading": f"Changes to line {segment.index + 1}",
        "history": selectors.segment_history_for_user(user=request.user, segment=segment),
        "editor_url": _editor_url(story, anchor=f"line-{segment.pk}"),
        "is_current": segment.transcript.is_current,
    }
    return TemplateResponse(request, "transcription/editor_history.html", context)


# --- Changes to one line ---------------------------------------------------------------------


@require_admin_access
@require_POST
def segment_action(request, story_id, segment_id):
    story, _ = selectors.editor_story_for_user(user=request.user, story_id=story_id)
    segment = selectors.editor_segment_get(user=request.user, story=story, segment_id=segment_id)
    action = request.POST.get("action", "")
    if action not in SAVED:
        return HttpResponseBadRequest("Unknown action.")
    try:
        if action == "edit":
            review_services.segment_edit(
                segment=segment,
                text=request.POST.get("text", ""),
                user=request.user,
                version=_int(request.POST.get("version"), "version"),
            )
        elif action == "speaker":
            version = request.POST.get("version")
            review_services.segment_set_speaker(
                segment=segment,
                speaker=request.POST.get("speaker", ""),
                user=request.user,
                version=_int(version, "version") if version else None,
            )
        elif action in ("verify", "unverify"):
            review_services.segment_verify(
                segment=segment, user=request.user, verified=action == "verify"
            )
        else:
            revision = get_object_or_404(
                segment.revisions, pk=_int(request.POST.get("revision"), "version to go back to")
            )
            version = request.POST.get("version")
            review_services.segment_revert(
                segment=segment,
                revision=revision,
                user=request.user,
                version=_int(version, "version") if version else None,
            )
    except EditConflict as conflict:
        return _refused(request, story, segment, action, conflict.message, conflict.segment)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, story, segment, action, _messages_of(error), None, status=400)

    message = SAVED[action].format(n=segment.index + 1)
    if _wants_json(request):
        stored = Segment.objects.get(pk=segment.pk)
        return JsonResponse(
            {
                "ok": True,
                "message": message,
                "version": stored.version,
                "segment": segment.pk,
                "html": _render_line(request, story, segment.pk),
            }
        )
    messages.success(request, message)
    if action == "revert":
        return redirect(_editor_url(story, anchor=f"line-{segment.pk}"))
    return redirect(_back(request, story, anchor=f"line-{segment.pk}"))


def _refused(request, story, segment, action, message, current, *, status=409):
    """A change that was not made: say why, and give the person their words back."""
    typed = request.POST.get("text", "") if action == "edit" else None
    # Someone else saved the line meanwhile: show what it says now, and let a second save
    # (made having seen it) go through.
    moved_on = current is not None and str(current.version) != request.POST.get("version")
    if _wants_json(request):
        body = {"ok": False, "message": message, "segment": segment.pk}
        if moved_on:
            body["version"] = current.version
            if action == "edit":
                body["current_text"] = current.text
        return JsonResponse(body, status=status)
    messages.error(request, message)
    if action != "edit":
        return redirect(_back(request, story, anchor=f"line-{segment.pk}"))
    _, editable = selectors.editor_story_for_user(user=request.user, story_id=story.pk)
    draft = {"segment": segment.pk, "text": typed, "message": message}
    if moved_on:
        draft["current_text"] = current.text
        draft["version"] = current.version
    return _render_editor(request, story, editable, draft=draft, status=status)


# --- The whole transcript --------------------------------------------------------------------


@require_admin_access
@require_POST
def transcript_verify(request, story_id):
    story, editable = selectors.editor_story_for_user(user=request.user, story_id=story_id)
    transcript = selectors.current_transcript(story)
    if not editable or transcript is None:
        raise Http404
    verified = request.POST.get("action") != "unverify"
    try:
        review_services.transcript_verify(
            transcript=transcript, user=request.user, verified=verified
        )
    except EditConflict as conflict:
        return _answer(request, story, False, conflict.message, status=409)
    message = (
        "The whole transcript is marked as checked."
        if verified
        else "The transcript is no longer marked as checked."
    )
    return _answer(request, story, True, message)


def _answer(request, story, ok: bool, message: str, *, status=200):
    if _wants_json(request):
        return JsonResponse({"ok": ok, "message": message}, status=status if not ok else 200)
    (messages.success if ok else messages.error)(request, message)
    return redirect(_back(request, story))


# --- Redaction -------------------------------------------------------------------------------


def _find_words(text: str, words: str) -> list[tuple[int, int]]:
    """Every place the words appear in a line (exactly, then ignoring case)."""
    words = words.strip()
    if not words:
        return []
    places, at = [], text.find(words)
    while at != -1:
        places.append((at, at + len(words)))
        at = text.find(words, at + len(words))
    if not places:
        lower, needle = text.lower(), words.lower()
        at = lower.find(needle)
        while at != -1:
            places.append((at, at + len(needle)))
            at = lower.find(needle, at + len(needle))
    return places


@require_admin_access
@require_POST
def redact(request, story_id):
    """Redaction from the editor: find suggestions, accept or keep one, hide selected words
    (in one line or across two), add a name to the story's or project's name list."""
    from transcription import redaction_services

    story, editable = selectors.editor_story_for_user(user=request.user, story_id=story_id)
    transcript = selectors.current_transcript(story)
    if not editable or transcript is None:
        raise Http404
    action = request.POST.get("action", "")
    user, post = request.user, request.POST
    try:
        if action == "suggest":
            found = redaction_services.redaction_suggest(transcript=transcript)
            message = (
                f"{len(found)} possible names or numbers to look at."
                if found
                else "No names or numbers found to suggest."
            )
        elif action in ("accept", "keep"):
            redaction = get_object_or_404(
                selectors.redactions_for_user(user=user, story=story),
                pk=_int(post.get("redaction"), "which words"),
            )
            redaction_services.redaction_decide(
                redaction=redaction, user=user, accept=action == "accept"
            )
            message = (
                f"Hidden: others will see {redaction.placeholder}."
                if action == "accept"
                else "Kept: these words will be shown."
            )
        elif action == "add":
            message = _redact_selection(request, story, redaction_services)
        elif action == "name":
            term = post.get("term", "").strip()
            if not term:
                raise ValidationError("Please type the name to hide.")
            kind = post.get("kind") or RedactionKind.NAME
            scope = {"project": story.get_project()} if post.get("scope") == "project" else {}
            redaction_services.name_list_add(
                user=user, term=term, kind=kind, **(scope or {"story": story})
            )
            message = (
                "Added to the names to hide. Wherever it is said, it is in the list "
                "of words to look at."
            )
        else:
            return HttpResponseBadRequest("Unknown action.")
    except (ValidationError, PermissionDenied) as error:
        return _answer(request, story, False, _messages_of(error), status=400)
    return _answer(request, story, True, message)


def _redact_selection(request, story, redaction_services) -> str:
    post = request.POST
    kind = post.get("kind", "")
    if kind not in RedactionKind.values:
        raise ValidationError("Please choose what kind of words these are.")
    segment = selectors.editor_segment_get(
        user=request.user, story=story, segment_id=post.get("segment")
    )
    if not segment.transcript.is_current:
        raise ValidationError(review_services.NOT_CURRENT_MESSAGE)
    placeholder = PLACEHOLDERS[kind]
    if post.get("words", "").strip() and not post.get("start_char"):
        # Without JavaScript: the words typed in, hidden wherever they are in the line.
        places = _find_words(segment.text, post["words"])
        if not places:
            raise ValidationError(
                f"We could not find “{post['words'].strip()}” in line {segment.index + 1}. "
                "Please type the words exactly as they are written in the line."
            )
        for start, end in places:
            redaction_services.redaction_add(
                segment=segment, start_char=start, end_char=end, kind=kind, user=request.user
            )
        return f"Hidden: others will see {placeholder}."
    start = _int(post.get("start_char"), "where the words start")
    extra = {}
    end_segment = None
    if post.get("end_segment"):
        end_segment = selectors.editor_segment_get(
            user=request.user, story=story, segment_id=post.get("end_segment")
        )
    if end_segment is not None and end_segment.pk != segment.pk:
        # Across lines: to the end of this one, then on to the place in the last one.
        end = len(segment.text)
        extra = {
            "end_segment": end_segment,
            "end_char_in_end_segment": _int(
                post.get("end_char_in_end_segment"), "where the words end"
            ),
        }
    else:
        end = _int(post.get("end_char"), "where the words end")
        if not 0 <= start < end <= len(segment.text):
            raise ValidationError("Please choose some words to hide first.")
    redaction_services.redaction_add(
        segment=segment, start_char=start, end_char=end, kind=kind, user=request.user, **extra
    )
    return f"Hidden: others will see {placeholder}."
