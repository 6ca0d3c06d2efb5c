"""Clips, and the redacted sound of a story: every write about them.

A clip is a short part of a story's current transcript, for workshops. Its words and
captions are the redacted text; its sound is cut from the recording with every accepted
redaction silenced. It is rendered by a task, like a transcription job: a worker takes it
with a compare-and-set UPDATE that gives it a lease (`clip_claim`), renews the lease while
it works, renders into a work folder, copies the finished file into private storage under
a new name, and only then, in a transaction that checks it still holds the clip, points the
clip at the file. A worker that dies leaves at most a partial file in the work folder or an
unreferenced one in storage; the next try clears both, so a half-written file is never
served and a clip ends with one file.

When a story's accepted redactions change, its playable copy and its clips are made again
(`redacted_media_refresh`); until then `selectors.restrict_unredacted_media` and
`selectors.clip_playable` keep the old sound from everyone but data stewards.
"""

import logging
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from wagtail.log_actions import log

from stories.models import MediaState, StoryKind, StoryMedia, StoryPage, private_storage
from stories.selectors import story_get_for_user
from stories.services import story_media_replace_derived
from transcription import captions, selectors
from transcription import media as media_tools
from transcription.models import Clip, ClipStatus, Segment, Transcript
from transcription.redaction import redaction_time_ranges
from transcription.services import (
    LeaseLost,
    _local_copy,
    _recording,
    default_worker_id,
    heartbeat_seconds,
    lease_seconds,
)

logger = logging.getLogger(__name__)

MAX_CLIP_SECONDS = 300
# Word times and the recording's length differ by a little: allow that much past the end.
END_TOLERANCE_SECONDS = 0.5

NO_QUOTE = (
    "This storyteller did not agree to be quoted in workshops, so no clip can be made "
    "from their story."
)
QUOTE_WITHDRAWN = (
    "The storyteller no longer agrees to be quoted in workshops, so this clip cannot be used."
)
NOT_ALLOWED = "Only facilitators, data stewards and the story's reporter can make clips."
NO_TRANSCRIPT = (
    "This story has no transcript yet, so no clip can be made. "
    "Please try again when the transcript is ready."
)
NOT_THIS_STORY = "These lines are not from this story's transcript. Please choose the lines again."
NOTHING_CHOSEN = "Please choose the lines, or the start and end, of the clip."
NOT_A_NUMBER = "Please give the start and the end of the clip in seconds, as numbers."
ZERO_LENGTH = "The clip has no length. Please choose a longer part of the story."
END_BEFORE_START = "The end of the clip comes before its start. Please check the times."
BEFORE_STORY = "The clip cannot start before the story does. Please check the start time."
TOO_LONG = (
    f"A clip can be at most {MAX_CLIP_SECONDS // 60} minutes long. "
    "Please choose a shorter part of the story."
)
NO_WORDS = "Nobody speaks in this part of the story. Please choose a part with words in it."
WRITTEN_STORY = "This story was written, not recorded. Please choose lines of text instead."
GAVE_UP = (
    "We could not make this clip, even after {attempts} tries. "
    "A data steward can see what went wrong and try again."
)


def _max_attempts() -> int:
    return int(getattr(settings, "CLIP_MAX_ATTEMPTS", 3))


def _longer_than_story(seconds: float) -> str:
    return (
        f"The clip ends after the story does: the story is {seconds:.0f} seconds long. "
        "Please choose an earlier end."
    )


# --- Making a clip ------------------------------------------------------------------------


def _as_seconds(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValidationError(NOT_A_NUMBER) from None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, infinity
        raise ValidationError(NOT_A_NUMBER)
    return seconds


def _segment(value, transcript: Transcript) -> Segment:
    pk = value.pk if isinstance(value, Segment) else value
    try:
        return Segment.objects.get(pk=int(pk), transcript=transcript)
    except (Segment.DoesNotExist, TypeError, ValueError):
        raise ValidationError(NOT_THIS_STORY) from None


def _story_length(story: StoryPage, transcript: Transcript) -> float | None:
    recording = _recording(story)
    if recording is not None and recording.duration_seconds:
        return recording.duration_seconds
    return transcript.duration_seconds


def _check_length(start: float, end: float, story_seconds: float | None) -> None:
    if start < 0:
        raise ValidationError(BEFORE_STORY)
    if end == start:
        raise ValidationError(ZERO_LENGTH)
    if end < start:
        raise ValidationError(END_BEFORE_START)
    if story_seconds and end > story_seconds + END_TOLERANCE_SECONDS:
        raise ValidationError(_longer_than_story(story_seconds))
    if end - start > MAX_CLIP_SECONDS:
        raise ValidationError(TOO_LONG)


def _choose_by_lines(transcript, first_segment, last_segment, story_seconds):
    first = _segment(first_segment, transcript)
    last = _segment(last_segment if last_segment not in (None, "") else first, transcript)
    if last.index < first.index:  # chosen from the bottom up
        first, last = last, first
    segments = list(
        transcript.segments.filter(index__gte=first.index, index__lte=last.index).order_by("index")
    )
    if first.start is None or last.end is None:
        return segments, None, None  # a written story: a text quote
    start, end = first.start, last.end
    if story_seconds:
        end = min(end, story_seconds)  # the last word may be timed a little past the end
    _check_length(start, end, story_seconds)
    return segments, start, end


def _choose_by_times(transcript, start, end, story_seconds):
    if start is None or end is None:
        raise ValidationError(NOTHING_CHOSEN)
    if not transcript.segments.filter(start__isnull=False).exists():
        raise ValidationError(WRITTEN_STORY)
    _check_length(start, end, story_seconds)
    segments = list(transcript.segments.filter(start__lt=end, end__gt=start).order_by("index"))
    if not segments:
        raise ValidationError(NO_WORDS)
    return segments, start, end


def _speaker_of(segments: list[Segment]) -> str:
    speakers = {s.speaker for s in segments}
    return speakers.pop() if len(speakers) == 1 else ""


def _words_and_captions(clip_segments, start, end) -> tuple[str, str]:
    segments = list(clip_segments)
    text = captions.clip_text(segments)
    if start is None or end is None:
        return text, ""
    return text, captions.webvtt(captions.clip_cues(segments, start=start, end=end))


def _default_title(text: str) -> str:
    words = text.split()
    title = " ".join(words[:8])
    return (title + "…") if len(words) > 8 else title


@transaction.atomic
def clip_create(
    *,
    user,
    story: StoryPage,
    first_segment=None,
    last_segment=None,
    start=None,
    end=None,
    title: str = "",
) -> Clip:
    """Make a clip of a run of lines (`first_segment`..`last_segment`, instances or ids) or
    of a time range (`start`/`end`, seconds) of the story's current transcript.

    Refused (ValidationError, with a plain message) without "quote" consent, for a part of
    no length, ending before it starts or after the story, or lines from another story.
    Without "voice" consent, or for a written story, the clip is a text quote only: words
    and captions, no sound. Otherwise its sound is made by a task (`clip_render`)."""
    if not selectors.can_make_clips(user=user, story=story):
        story_get_for_user(user=user, story_id=story.pk)  # 404 for those who may not see it
        raise PermissionDenied(NOT_ALLOWED)
    consent = story.current_consent
    if consent is None or not consent.quote:
        raise ValidationError(NO_QUOTE)
    transcript = selectors.current_transcript(story)
    if transcript is None:
        raise ValidationError(NO_TRANSCRIPT)
    story_seconds = _story_length(story, transcript)
    start, end = _as_seconds(start), _as_seconds(end)
    if first_segment not in (None, "") or last_segment not in (None, ""):
        segments, start, end = _choose_by_lines(
            transcript, first_segment or last_segment, last_segment, story_seconds
        )
    else:
        segments, start, end = _choose_by_times(transcript, start, end, story_seconds)

    # Redactions are read with the segments, so the words are redacted from the start.
    segments = list(
        Segment.objects.filter(pk__in=[s.pk for s in segments])
        .prefetch_related("redactions")
        .order_by("index")
    )
    text, vtt = _words_and_captions(segments, start, end)
    with_sound = (
        consent.voice
        and start is not None
        and story.kind != StoryKind.TEXT
        and _recording(story) is not None
    )
    clip = Clip.objects.create(
        story=story,
        transcript=transcript,
        title=(title or "").strip()[:200] or _default_title(text)[:200],
        start=start,
        end=end,
        text=text,
        captions=vtt,
        speaker=_speaker_of(segments),
        status=ClipStatus.QUEUED if with_sound else ClipStatus.TEXT_ONLY,
        created_by=user,
    )
    clip.segments.set(segments)
    log(
        instance=story,
        action="storyloom.clip.create",
        user=user,
        data={
            "clip": clip.pk,
            "start": start,
            "end": end,
            "segments": [s.pk for s in segments],
            "sound": bool(with_sound),
        },
    )
    if with_sound:
        _enqueue_render(clip.pk)
    return clip


# --- Rendering ----------------------------------------------------------------------------


def _enqueue_render(clip_id: int) -> None:
    from transcription import tasks

    transaction.on_commit(lambda: tasks.clip_render_task.enqueue(clip_id=clip_id), robust=True)


def clip_work_dir(clip_id: int) -> Path:
    """Where a clip is rendered before it is stored: inside the private media folder, never
    served (no clip points at it), cleared at the start of every try."""
    root = getattr(settings, "CLIP_WORK_DIR", None) or (
        Path(settings.PRIVATE_MEDIA_ROOT) / ".work" / "clips"
    )
    return Path(root) / f"clip-{clip_id}"


def clip_storage_folder(clip: Clip) -> str:
    return f"clips/{clip.story_id}/{clip.pk}"


def clip_claim(*, clip_id: int, worker_id: str) -> Clip | None:
    """Take the clip for this worker, or None when someone else holds it (or there is
    nothing to do). Only a queued clip, or one whose worker's lease ran out, can be taken."""
    now = timezone.now()
    taken = (
        Clip.objects.filter(pk=clip_id, attempts__lt=_max_attempts())
        .filter(
            Q(status=ClipStatus.QUEUED) | Q(status=ClipStatus.RENDERING, lease_expires_at__lt=now)
        )
        .update(
            status=ClipStatus.RENDERING,
            attempts=F("attempts") + 1,
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            progress=5,
        )
    )
    if not taken:
        return None
    return Clip.objects.select_related("story").get(pk=clip_id)


def clip_heartbeat(*, clip_id: int, worker_id: str, progress: int | None = None) -> bool:
    """Renew this worker's lease (and record progress). False when the lease was lost: the
    clip was taken by another worker, or queued again because its redactions changed."""
    changes = {"lease_expires_at": timezone.now() + timedelta(seconds=lease_seconds())}
    if progress is not None:
        changes["progress"] = max(0, min(99, int(progress)))
    return bool(
        Clip.objects.filter(pk=clip_id, worker_id=worker_id, status=ClipStatus.RENDERING).update(
            **changes
        )
    )


def _clear_work_dir(clip_id: int) -> Path:
    folder = clip_work_dir(clip_id)
    shutil.rmtree(folder, ignore_errors=True)  # partial files from an interrupted try
    attempt = folder / uuid.uuid4().hex
    attempt.mkdir(parents=True)
    return attempt


def _render_sound(clip: Clip, worker_id: str, ranges, work: Path) -> tuple[Path, str]:
    """Cut the clip from the recording with the ranges silenced, in a child process, while
    this thread keeps the lease (and the progress bar) alive."""
    recording = _recording(clip.story)
    if recording is None:
        raise media_tools.MediaError("The story's recording is missing. Please add it again.")

    def render():
        with _local_copy(recording) as source:
            return media_tools.make_playable(
                source, work, silence=ranges, start=clip.start, end=clip.end
            )

    # A rough guess, for the progress bar only: decoding runs far faster than real time.
    expected = 2.0 + (clip.end or 0) * (0.2 if recording.has_video else 0.02)
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"clip-{clip.pk}")
    future = pool.submit(render)
    try:
        while True:
            try:
                return future.result(timeout=heartbeat_seconds())
            except FutureTimeout:
                share = min(1.0, (time.monotonic() - started) / expected)
                if not clip_heartbeat(
                    clip_id=clip.pk, worker_id=worker_id, progress=10 + int(80 * share)
                ):
                    raise LeaseLost(clip.pk) from None
    finally:
        pool.shutdown(wait=False)  # after a lost lease the child process ends by itself


def _delete_other_files(folder: str, keep: str | None) -> None:
    storage = private_storage()
    try:
        _dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        files = []
    for name in files:
        path = f"{folder}/{name}"
        if path != keep:
            storage.delete(path)


def _store_sound(clip: Clip, worker_id: str, rendered: Path, content_type: str, **fields):
    """Copy the finished file into storage, then point the clip at it, if this worker still
    holds the clip. Files of earlier tries (and the previous render) are deleted after the
    commit; a reader never sees a file that is still being written."""
    storage = private_storage()
    name = f"{clip_storage_folder(clip)}/{uuid.uuid4().hex}{rendered.suffix}"
    with rendered.open("rb") as handle:
        name = storage.save(name, File(handle))
    try:
        with transaction.atomic():
            held = (
                Clip.objects.select_for_update()
                .filter(pk=clip.pk, worker_id=worker_id, status=ClipStatus.RENDERING)
                .first()
            )
            if held is None:
                raise LeaseLost(clip.pk)
            Clip.objects.filter(pk=clip.pk).update(
                file=name,
                content_type=content_type,
                status=ClipStatus.DONE,
                progress=100,
                error="",
                lease_expires_at=None,
                **fields,
            )
            folder = clip_storage_folder(clip)
            # robust: a file that cannot be deleted now is deleted by the next render.
            transaction.on_commit(lambda: _delete_other_files(folder, keep=name), robust=True)
    except BaseException:
        storage.delete(name)
        raise


def _finish_without_sound(clip: Clip, worker_id: str, status: str, error: str = "", **fields):
    with transaction.atomic():
        ended = Clip.objects.filter(
            pk=clip.pk, worker_id=worker_id, status=ClipStatus.RENDERING
        ).update(
            status=status,
            error=error,
            file="",
            content_type="",
            lease_expires_at=None,
            progress=100 if status == ClipStatus.TEXT_ONLY else 0,
            **fields,
        )
        if ended:
            folder = clip_storage_folder(clip)
            transaction.on_commit(lambda: _delete_other_files(folder, keep=None), robust=True)
            log(
                instance=clip.story,
                action="storyloom.clip.failed"
                if status == ClipStatus.FAILED
                else "storyloom.clip.text_only",
                data={"clip": clip.pk, "attempt": clip.attempts, "error": error[:500]},
            )


def _retry_or_fail(clip: Clip, worker_id: str, error: Exception) -> None:
    if clip.attempts < _max_attempts():
        with transaction.atomic():
            requeued = Clip.objects.filter(
                pk=clip.pk, worker_id=worker_id, status=ClipStatus.RENDERING
            ).update(status=ClipStatus.QUEUED, worker_id="", lease_expires_at=None)
            if requeued:
                _enqueue_render(clip.pk)
        return
    message = GAVE_UP.format(attempts=clip.attempts)
    detail = f"{message}\n\nTechnical detail: {type(error).__name__}: {error}"[:4000]
    _finish_without_sound(clip, worker_id, ClipStatus.FAILED, detail)


def clip_render(*, clip_id: int, worker_id: str | None = None) -> Clip | None:
    """Claim the clip and make its sound (or, without "voice" consent, its text quote):
    words and captions from the redacted text, sound from the recording with the accepted
    redactions silenced. Safe to run twice and after a worker died: see the module's notes.
    Returns the clip as it now stands (None if it is gone)."""
    worker_id = worker_id or default_worker_id()
    clip = clip_claim(clip_id=clip_id, worker_id=worker_id)
    if clip is None:
        _fail_if_exhausted(clip_id)
        return Clip.objects.filter(pk=clip_id).first()
    work = None
    try:
        story = clip.story
        consent = story.current_consent
        segments = clip.segments.prefetch_related("redactions").order_by("index")
        text, vtt = _words_and_captions(segments, clip.start, clip.end)
        words = {"text": text, "captions": vtt}
        if consent is None or not consent.quote:
            _finish_without_sound(clip, worker_id, ClipStatus.FAILED, QUOTE_WITHDRAWN, **words)
        elif not consent.voice or clip.start is None:
            _finish_without_sound(clip, worker_id, ClipStatus.TEXT_ONLY, **words)
        else:
            work = _clear_work_dir(clip.pk)
            # The time the ranges were read: a redaction accepted after it makes the clip
            # out of date (selectors.clip_playable), whenever this finishes.
            read_at = timezone.now()
            ranges = redaction_time_ranges(story)
            rendered, content_type = _render_sound(clip, worker_id, ranges, work)
            _store_sound(clip, worker_id, rendered, content_type, rendered_at=read_at, **words)
            log(
                instance=story,
                action="storyloom.clip.render",
                data={"clip": clip.pk, "attempt": clip.attempts, "silenced": len(ranges)},
            )
    except LeaseLost:
        logger.warning("Clip %s: lease lost by %s; another worker has it.", clip_id, worker_id)
    except media_tools.MediaError as error:
        _finish_without_sound(clip, worker_id, ClipStatus.FAILED, error.message)
    except Exception as error:  # noqa: BLE001 — every failure must end in a clear state
        logger.exception("Clip %s failed on attempt %s", clip_id, clip.attempts)
        _retry_or_fail(clip, worker_id, error)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return Clip.objects.filter(pk=clip_id).first()


def _fail_if_exhausted(clip_id: int) -> None:
    clip = Clip.objects.filter(
        pk=clip_id,
        status=ClipStatus.RENDERING,
        lease_expires_at__lt=timezone.now(),
        attempts__gte=_max_attempts(),
    ).first()
    if clip is not None:
        message = GAVE_UP.format(attempts=clip.attempts)
        _finish_without_sound(clip, clip.worker_id, ClipStatus.FAILED, message)


def clip_requeue_expired() -> list[int]:
    """Put back on the queue every clip whose worker stopped renewing its lease; clips that
    have had all their tries are marked failed. Run by workers after each task."""
    now = timezone.now()
    requeued = []
    for clip in Clip.objects.filter(status=ClipStatus.RENDERING, lease_expires_at__lt=now):
        if clip.attempts >= _max_attempts():
            _fail_if_exhausted(clip.pk)
            continue
        with transaction.atomic():
            if Clip.objects.filter(
                pk=clip.pk, status=ClipStatus.RENDERING, lease_expires_at__lt=now
            ).update(status=ClipStatus.QUEUED, worker_id="", lease_expires_at=None):
                _enqueue_render(clip.pk)
                requeued.append(clip.pk)
    return requeued


def clip_retry(*, clip: Clip, user) -> Clip:
    """Try a failed clip again (for whoever may make clips of the story)."""
    if not selectors.can_make_clips(user=user, story=clip.story):
        raise PermissionDenied(NOT_ALLOWED)
    if clip.status != ClipStatus.FAILED:
        raise ValidationError("This clip has not failed, so there is nothing to try again.")
    with transaction.atomic():
        Clip.objects.filter(pk=clip.pk, status=ClipStatus.FAILED).update(
            status=ClipStatus.QUEUED, attempts=0, progress=0, error="", worker_id=""
        )
        log(instance=clip.story, action="storyloom.clip.retry", user=user, data={"clip": clip.pk})
        _enqueue_render(clip.pk)
    clip.refresh_from_db()
    return clip


# --- When redactions change -----------------------------------------------------------------


def redacted_media_refresh(*, story_id: int) -> None:
    """The story's accepted redactions changed: make its playable copy again, give its clips
    their new words and captions now, and queue their sound to be made again.

    A clip being rendered is put back on the queue, which takes its worker's lease: that
    worker's (out-of-date) file is never stored."""
    story = StoryPage.objects.filter(pk=story_id).first()
    if story is None:
        return
    with transaction.atomic():
        for clip in Clip.objects.filter(story=story).select_for_update():
            segments = clip.segments.prefetch_related("redactions").order_by("index")
            text, vtt = _words_and_captions(segments, clip.start, clip.end)
            changes = {"text": text, "captions": vtt}
            if clip.status in (ClipStatus.DONE, ClipStatus.RENDERING, ClipStatus.QUEUED):
                changes.update(
                    status=ClipStatus.QUEUED,
                    progress=0,
                    attempts=0,
                    worker_id="",
                    lease_expires_at=None,
                )
                _enqueue_render(clip.pk)
            Clip.objects.filter(pk=clip.pk).update(**changes)
        if _recording(story) is not None:
            _enqueue_playable(story.pk)


def _enqueue_playable(story_id: int) -> None:
    from transcription import tasks

    transaction.on_commit(
        lambda: tasks.story_playable_rerender_task.enqueue(story_id=story_id), robust=True
    )


def story_playable_rerender(*, story_id: int) -> StoryMedia | None:
    """Make the story's web-playable copy again with its accepted redactions silenced, and
    put it in place of the old one in one transaction. Its `created_at` is when the ranges
    were read, so a redaction accepted while it was being made leaves it out of date (and
    held back from everyone but stewards) until the next one."""
    story = StoryPage.objects.filter(pk=story_id).first()
    recording = _recording(story) if story is not None else None
    if recording is None:
        return None
    read_at = timezone.now()
    ranges = redaction_time_ranges(story)
    with _local_copy(recording) as source, tempfile.TemporaryDirectory() as out:
        path, content_type = media_tools.make_playable(source, Path(out), silence=ranges)
        with transaction.atomic():
            locked = StoryPage.objects.select_for_update().filter(pk=story.pk).first()
            if (
                locked is None
                or locked.withdrawn
                or locked.anonymised_at is not None
                or not StoryMedia.objects.filter(pk=recording.pk).exists()
            ):
                # Erased or anonymised while this copy was being made: it is not kept.
                return None
            newer = story.media.filter(role=StoryMedia.Role.PLAYABLE, created_at__gt=read_at)
            if newer.exists():
                return newer.first()  # another worker made a more recent one meanwhile
            item = story_media_replace_derived(
                story=story,
                role=StoryMedia.Role.PLAYABLE,
                path=path,
                content_type=content_type,
                duration=recording.duration_seconds,
            )
            StoryMedia.objects.filter(pk=item.pk).update(created_at=read_at)
            log(
                instance=story,
                action="storyloom.media.redacted_copy",
                data={"media_id": str(item.pk), "silenced": len(ranges)},
            )
    item.refresh_from_db()
    return item


def redacted_media_requeue_stale(*, older_than_seconds: float | None = None) -> list[int]:
    """Stories whose playable copy or finished clips are out of date (a redaction was
    accepted after they were made) for longer than a lease: their re-render was lost (a
    worker died, a task was dropped). Queue them again. Run by workers after each clip or
    copy they make. Returns the stories whose copy was queued."""
    from transcription.models import Redaction, RedactionStatus

    wait = lease_seconds() if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=wait)
    candidates = (
        Redaction.objects.filter(status=RedactionStatus.ACCEPTED)
        .filter(Q(decided_at__lt=cutoff) | Q(decided_at__isnull=True, created_at__lt=cutoff))
        .values_list("story_id", flat=True)
        .distinct()
    )
    queued = []
    for story_id in candidates:
        recordings = StoryMedia.objects.filter(story_id=story_id)
        if not recordings.filter(role=StoryMedia.Role.RECORDING).exists():
            continue
        if not StoryPage.objects.filter(pk=story_id, media_state=MediaState.READY).exists():
            continue  # being transcribed: the job makes the copy when it finishes
        fresh = selectors.restrict_unredacted_media(
            recordings.filter(role=StoryMedia.Role.PLAYABLE)
        )
        if not fresh.exists():
            _enqueue_playable(story_id)
            queued.append(story_id)
    for clip in Clip.objects.filter(story_id__in=list(candidates), status=ClipStatus.DONE):
        if not selectors.clip_playable(clip) and Clip.objects.filter(
            pk=clip.pk, status=ClipStatus.DONE
        ).update(status=ClipStatus.QUEUED, progress=0, attempts=0, worker_id=""):
            _enqueue_render(clip.pk)
    return queued


# --- Erasure ------------------------------------------------------------------------------


def _delete_story_clip_files(story_id: int, clip_ids=None) -> int:
    """Delete the stored files of the story's clips (all, or those of `clip_ids`), including
    any left by an interrupted render, and their work folders. Returns how many files."""
    storage = private_storage()
    root = f"clips/{story_id}"
    try:
        folders, _files = storage.listdir(root)
    except (FileNotFoundError, NotImplementedError):
        folders = []
    deleted = 0
    for folder in folders:
        if clip_ids is not None and folder not in {str(pk) for pk in clip_ids}:
            continue
        _dirs, files = storage.listdir(f"{root}/{folder}")
        for name in files:
            storage.delete(f"{root}/{folder}/{name}")
            deleted += 1
        if folder.isdigit():
            shutil.rmtree(clip_work_dir(int(folder)), ignore_errors=True)
    return deleted


def clips_erasure_step(scope) -> dict[str, int]:
    """The erasure step for clips (`stories.erasure.ErasureScope`): with the story erased,
    or "quote" (or the transcript) no longer agreed, the clips and their files go; with
    "voice" no longer agreed, their sound goes and they stay as text quotes. Idempotent;
    counts only, no text."""
    clips = Clip.objects.filter(story_id=scope.story_id)
    if scope.lost("quote", "transcribe", "record"):
        files = _delete_story_clip_files(scope.story_id)
        return {"clips": clips.delete()[1].get(Clip._meta.label, 0), "clip files": files}
    if scope.lost("voice"):
        with_sound = list(clips.exclude(status=ClipStatus.TEXT_ONLY).values_list("pk", flat=True))
        clips.filter(pk__in=with_sound).update(
            status=ClipStatus.TEXT_ONLY,
            file="",
            content_type="",
            worker_id="",
            lease_expires_at=None,
            progress=100,
        )
        files = _delete_story_clip_files(scope.story_id, clip_ids=with_sound)
        return {"clip sound": files}
    return {}
