"""Every write to transcription jobs, transcripts and segments.

A job row is the source of truth. Workers take a job with a compare-and-set UPDATE
(`job_claim`) that gives them a lease; while they work they renew it (`job_heartbeat`). A
worker that dies stops renewing, its lease runs out, and the job is taken again by the next
worker that asks (`job_requeue_expired` puts it back on the queue). A worker that lost its
lease cannot store anything: the results are written in one transaction that first checks
the worker still holds the job. So each job ends with one transcript, whatever happens.
"""

import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from wagtail.log_actions import log

from cms.roles import Role
from cms.selectors import project_roles_for_user
from stories.models import MediaState, StoryKind, StoryMedia, StoryPage
from stories.services import story_media_replace_derived
from transcription import media as media_tools  # decoding runs in a limited process
from transcription.models import TEXT_MODEL, JobStatus, Segment, Transcript, TranscriptionJob

logger = logging.getLogger(__name__)

RETRY_MESSAGE = (
    "We could not turn this recording into text, even after {attempts} tries. "
    "A data steward can see what went wrong and try again."
)
STOPPED_MESSAGE = (
    "The transcription stopped before it finished, {attempts} times. A data steward can try again."
)
NO_CONSENT_MESSAGE = (
    "The storyteller has not agreed to have the recording turned into text, "
    "so it was not transcribed."
)


class LeaseLost(Exception):
    """Another worker holds this job now (ours ran out): stop, and store nothing."""


def lease_seconds() -> int:
    return int(getattr(settings, "TRANSCRIPTION_LEASE_SECONDS", 300))


def heartbeat_seconds() -> float:
    return float(getattr(settings, "TRANSCRIPTION_HEARTBEAT_SECONDS", 5))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _log(story_id: int, action: str, job: TranscriptionJob, user=None, **data) -> None:
    story = StoryPage.objects.filter(pk=story_id).first()
    if story is not None:
        log(
            instance=story,
            action=action,
            user=user,
            data={"job": job.pk, "model": job.model, "attempt": job.attempts, **data},
        )


def _set_story_state(story_id: int, state: str, message: str = "") -> None:
    # An UPDATE, not a page save: the worker must not make a page revision.
    StoryPage.objects.filter(pk=story_id).update(media_state=state, media_message=message[:300])


def story_not_transcribed(*, story_id: int, message: str) -> None:
    """The story's recording will not be transcribed (e.g. no consent): show why."""
    _set_story_state(story_id, MediaState.NOT_TRANSCRIBED, message)


# --- Enqueueing --------------------------------------------------------------------------


def _enqueue_task(job_id: int) -> None:
    from transcription import tasks

    transaction.on_commit(lambda: tasks.transcribe_story_task.enqueue(job_id=job_id))


def _recording(story: StoryPage) -> StoryMedia | None:
    return story.media.filter(role=StoryMedia.Role.RECORDING).order_by("-created_at").first()


@transaction.atomic
def job_enqueue(
    *, story: StoryPage, media: StoryMedia | None = None, model: str | None = None, user=None
) -> TranscriptionJob:
    """Queue the story for transcription (written stories: for splitting into segments).

    Idempotent: a queued, running or finished job for this story and model is returned as
    it is. A failed one is reset and queued again. The worker's task is enqueued only once
    this transaction commits, so it never looks for a job that is not there yet.
    """
    if story.kind == StoryKind.TEXT:
        model, media = TEXT_MODEL, None
    else:
        model = (model or settings.WHISPER_MODEL).strip()
        media = media or _recording(story)
        if media is None:
            raise ValidationError("This story has no recording to turn into text.")
        consent = story.current_consent
        if consent is None or not consent.transcribe:
            raise ValidationError(NO_CONSENT_MESSAGE)
    job, created = TranscriptionJob.objects.get_or_create(
        story=story,
        model=model,
        defaults={
            "media": media,
            "created_by": user,
            "settings": {"language": story.language},
            "max_attempts": int(getattr(settings, "TRANSCRIPTION_MAX_ATTEMPTS", 3)),
        },
    )
    if not created and job.status not in {JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD}:
        return job
    if not created:
        job = _reset(job, media=media)
    _set_story_state(story.pk, MediaState.WAITING)
    _log(story.pk, "storyloom.transcription.queue", job, user=user)
    _enqueue_task(job.pk)
    return job


def _reset(job: TranscriptionJob, *, media) -> TranscriptionJob:
    TranscriptionJob.objects.filter(pk=job.pk).update(
        status=JobStatus.QUEUED,
        media=media,
        attempts=0,
        progress=0,
        error="",
        worker_id="",
        lease_expires_at=None,
        finished_at=None,
    )
    job.refresh_from_db()
    return job


def job_retry(*, job: TranscriptionJob, user) -> TranscriptionJob:
    """A data steward's "try again" for a failed job (after fixing what was wrong)."""
    roles = project_roles_for_user(user=user, project=job.story.get_project())
    if Role.STEWARD not in roles:
        raise PermissionDenied("Only a data steward can try a transcription again.")
    if job.status not in {JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD}:
        raise ValidationError("This transcription has not failed, so there is nothing to retry.")
    return job_enqueue(story=job.story, model=job.model, user=user)


# --- Workers: claim, heartbeat, run -------------------------------------------------------


def job_claim(*, job_id: int, worker_id: str) -> TranscriptionJob | None:
    """Take the job for this worker, or None when someone else holds it (or it is finished).

    One conditional UPDATE decides: only a queued job, or a running one whose lease has
    run out, can be taken, so two workers can never both win."""
    now = timezone.now()
    taken = (
        TranscriptionJob.objects.filter(pk=job_id, attempts__lt=F("max_attempts"))
        .filter(Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now))
        .update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
        )
    )
    if not taken:
        return None
    return TranscriptionJob.objects.select_related("story", "media").get(pk=job_id)


def job_heartbeat(*, job_id: int, worker_id: str, progress: int | None = None) -> bool:
    """Renew this worker's lease (and record progress). False when the lease was lost."""
    now = timezone.now()
    changes = {"heartbeat_at": now, "lease_expires_at": now + timedelta(seconds=lease_seconds())}
    if progress is not None:
        changes["progress"] = max(0, min(99, int(progress)))
    return bool(
        TranscriptionJob.objects.filter(
            pk=job_id, worker_id=worker_id, status=JobStatus.RUNNING
        ).update(**changes)
    )


def _progress_callback(job: TranscriptionJob, worker_id: str, extra=None) -> Callable:
    """The engine's progress callback: a heartbeat at most every few seconds."""
    last = {"at": 0.0, "percent": -1}

    def on_progress(fraction: float) -> None:
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        now = time.monotonic()
        if now - last["at"] < heartbeat_seconds() and percent < 99:
            return
        last.update(at=now, percent=percent)
        if not job_heartbeat(job_id=job.pk, worker_id=worker_id, progress=percent):
            raise LeaseLost(job.pk)
        if extra is not None:
            extra(percent)

    return on_progress


_engines: dict = {}


def _engine_for(model: str):
    """One loaded engine per model per worker process: loading takes seconds."""
    if model not in _engines:
        from transcription.engines import get_engine  # heavy: workers only

        _engines[model] = get_engine(model)
    return _engines[model]


@contextmanager
def _local_copy(media: StoryMedia):
    """A path on this machine for the recording (object storage is copied to a temp file)."""
    try:
        yield Path(media.file.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(media.file.name).suffix
    with tempfile.NamedTemporaryFile(prefix="storyloom-job-", suffix=suffix) as tmp:
        with media.file.open("rb") as source:
            shutil.copyfileobj(source, tmp, 1024 * 1024)
        tmp.flush()
        yield Path(tmp.name)


def job_run(
    *, job_id: int, worker_id: str | None = None, engine=None, on_progress=None
) -> TranscriptionJob | None:
    """Claim the job and do it: transcribe (or split a written story), store the transcript
    and its segments in one transaction, and mark the job and the story.

    Bad media end the job with a plain message (failed, or needs a new recording). Any other
    error puts the job back on the queue until it has had max_attempts tries; then it fails,
    for a data steward to look at. Returns the job as it now stands (None if it is gone)."""
    worker_id = worker_id or default_worker_id()
    job = job_claim(job_id=job_id, worker_id=worker_id)
    if job is None:
        _fail_if_exhausted(job_id)
        return TranscriptionJob.objects.filter(pk=job_id).first()
    story = job.story
    _set_story_state(story.pk, MediaState.PROCESSING)
    _log(story.pk, "storyloom.transcription.start", job, worker=worker_id)
    started = time.monotonic()
    try:
        result = _transcribe(job, story, worker_id, engine=engine, on_progress=on_progress)
        _store(job, worker_id, result, elapsed=time.monotonic() - started)
        _announce_transcript(job.story_id)
        _make_playable_copies(job)
    except LeaseLost:
        logger.warning("Job %s: lease lost by %s; another worker has it.", job_id, worker_id)
    except _JobRefused as refused:
        _finish_unsuccessfully(job, worker_id, refused.status, refused.message, refused.message)
    except Exception as error:  # noqa: BLE001 — every failure must end in a clear state
        _media_error = _as_media_error(error)
        if _media_error is not None:
            status = JobStatus.NEEDS_REUPLOAD if _media_error.needs_reupload else JobStatus.FAILED
            message = _media_error.message
            _finish_unsuccessfully(job, worker_id, status, message, message)
        else:
            logger.exception("Job %s failed on attempt %s", job_id, job.attempts)
            _retry_or_fail(job, worker_id, error)
    return TranscriptionJob.objects.filter(pk=job_id).first()


def _make_playable_copies(job: TranscriptionJob) -> None:
    """The browser-playable, metadata-stripped copy of the recording (and a still picture
    for a video). Without them the player falls back to the original, so a failure here is
    logged and does not fail the finished job."""
    if job.media is None:
        return
    try:
        from transcription.redaction import redaction_time_ranges

        # Words already redacted (a transcript made again) stay silent in the new copy.
        silence = redaction_time_ranges(job.story)
        with _local_copy(job.media) as source, tempfile.TemporaryDirectory() as out:
            playable, content_type = media_tools.make_playable(source, Path(out), silence=silence)
            story_media_replace_derived(
                story=job.story,
                role=StoryMedia.Role.PLAYABLE,
                path=playable,
                content_type=content_type,
                duration=job.media.duration_seconds,
            )
            if job.media.has_video:
                poster = media_tools.make_poster(source, Path(out) / "poster.jpg")
                story_media_replace_derived(
                    story=job.story,
                    role=StoryMedia.Role.POSTER,
                    path=poster,
                    content_type="image/jpeg",
                )
    except Exception:  # noqa: BLE001
        logger.exception("Job %s: the playable copy could not be made", job.pk)


def _announce_transcript(story_id: int) -> None:
    """Tell downstream apps (themes) once the story's current transcript is committed."""
    from transcription.signals import transcript_ready

    current = Transcript.objects.filter(story_id=story_id, is_current=True).first()
    if current is not None and current.job.status == JobStatus.DONE:
        transaction.on_commit(
            lambda: transcript_ready.send_robust(  # a receiver's error is not the job's
                sender=Transcript, story_id=story_id, transcript_id=current.pk
            )
        )


class _JobRefused(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _as_media_error(error: Exception):
    try:
        from transcription.media import MediaError
    except ImportError:  # pragma: no cover — the media module ships with the engine
        return None
    return error if isinstance(error, MediaError) else None


def _transcribe(job, story, worker_id, *, engine, on_progress):
    from transcription import pipeline  # light; the engine itself is imported lazily

    if job.model == TEXT_MODEL:
        return None, pipeline.segment_text(story.text_body)
    consent = story.current_consent
    if consent is None or not consent.transcribe:
        raise _JobRefused(JobStatus.FAILED, NO_CONSENT_MESSAGE)
    if job.media is None:
        raise _JobRefused(
            JobStatus.NEEDS_REUPLOAD, "The recording is missing. Please add it again."
        )
    language = job.settings.get("language") or story.language
    vocabulary = story.get_project().vocabulary
    with _local_copy(job.media) as path:
        result = pipeline.transcribe_file(
            path,
            engine=engine or _engine_for(job.model),
            language=None if language in ("", "auto") else language,
            vocabulary=tuple(vocabulary),
            on_progress=_progress_callback(job, worker_id, on_progress),
        )
    return result, None


@transaction.atomic
def _store(job: TranscriptionJob, worker_id: str, outcome, *, elapsed: float) -> None:
    result, texts = outcome
    held = (
        TranscriptionJob.objects.select_for_update()
        .filter(pk=job.pk, worker_id=worker_id, status=JobStatus.RUNNING)
        .first()
    )
    if held is None:
        raise LeaseLost(job.pk)
    Transcript.objects.filter(job=held).delete()  # anything an earlier try left behind
    has_current = Transcript.objects.filter(story_id=held.story_id, is_current=True).exists()
    transcript = Transcript.objects.create(
        story_id=held.story_id,
        job=held,
        model_id=result.model_id if result else TEXT_MODEL,
        language=result.language if result else "",
        language_probability=result.language_probability if result else None,
        duration_seconds=result.duration if result else None,
        is_current=not has_current,
    )
    if result is not None:
        rows = [
            Segment(
                transcript=transcript,
                story_id=held.story_id,
                index=i,
                start=s.start,
                end=s.end,
                text=s.text.strip(),
                words=[
                    {"text": w.text, "start": w.start, "end": w.end, "probability": w.probability}
                    for w in s.words
                ],
                avg_logprob=s.avg_logprob,
                no_speech_prob=s.no_speech_prob,
                compression_ratio=s.compression_ratio,
                flags=list(s.flags),
            )
            for i, s in enumerate(result.segments)
        ]
    else:
        rows = [
            Segment(transcript=transcript, story_id=held.story_id, index=i, text=text)
            for i, text in enumerate(texts)
        ]
    Segment.objects.bulk_create(rows)
    held.status = JobStatus.DONE
    held.progress = 100
    held.error = ""
    held.finished_at = timezone.now()
    held.lease_expires_at = None
    held.elapsed_seconds = round(elapsed, 3)
    held.audio_seconds = result.duration if result else None
    held.save()
    _set_story_state(held.story_id, MediaState.READY)
    _log(held.story_id, "storyloom.transcription.done", held, segments=len(rows))


@transaction.atomic
def _finish_unsuccessfully(job, worker_id, status, error: str, story_message: str) -> None:
    ended = TranscriptionJob.objects.filter(
        pk=job.pk, worker_id=worker_id, status=JobStatus.RUNNING
    ).update(
        status=status,
        error=error,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if not ended:
        return
    story_state = (
        MediaState.NEEDS_REUPLOAD if status == JobStatus.NEEDS_REUPLOAD else MediaState.FAILED
    )
    _set_story_state(job.story_id, story_state, story_message)
    _log(job.story_id, f"storyloom.transcription.{status}", job, error=error[:500])


def _retry_or_fail(job: TranscriptionJob, worker_id: str, error: Exception) -> None:
    if job.attempts < job.max_attempts:
        with transaction.atomic():
            requeued = TranscriptionJob.objects.filter(
                pk=job.pk, worker_id=worker_id, status=JobStatus.RUNNING
            ).update(status=JobStatus.QUEUED, worker_id="", lease_expires_at=None)
            if requeued:
                _set_story_state(job.story_id, MediaState.WAITING)
                _log(job.story_id, "storyloom.transcription.retry", job, error=str(error)[:500])
                _enqueue_task(job.pk)
        return
    message = RETRY_MESSAGE.format(attempts=job.attempts)
    detail = f"{message}\n\nTechnical detail: {type(error).__name__}: {error}"[:4000]
    _finish_unsuccessfully(job, worker_id, JobStatus.FAILED, detail, message)


def _fail_if_exhausted(job_id: int) -> None:
    """A running job whose lease ran out after its last try: nobody will take it again."""
    now = timezone.now()
    job = TranscriptionJob.objects.filter(
        pk=job_id,
        status=JobStatus.RUNNING,
        lease_expires_at__lt=now,
        attempts__gte=F("max_attempts"),
    ).first()
    if job is not None:
        _finish_unsuccessfully(
            job,
            job.worker_id,
            JobStatus.FAILED,
            STOPPED_MESSAGE.format(attempts=job.attempts),
            STOPPED_MESSAGE.format(attempts=job.attempts),
        )


def job_run_until_finished(
    *, job_id: int, engine=None, on_progress=None
) -> TranscriptionJob | None:
    """Run a job in this process, retries included, until it is done or has failed (the
    `--wait` of the transcribe and import_stories commands)."""
    worker_id = default_worker_id()
    while True:
        job = job_run(job_id=job_id, worker_id=worker_id, engine=engine, on_progress=on_progress)
        if job is None or job.is_finished:
            return job
        if job.status == JobStatus.RUNNING:  # another worker has it: wait for it to finish
            time.sleep(1)


def job_requeue_expired() -> list[int]:
    """Put back on the queue every running job whose worker stopped renewing its lease (the
    worker died, or its machine did). Jobs that have had all their tries are marked failed.

    Run by every transcription worker when it starts and after each job, and by
    `manage.py transcribe --pending` (e.g. from cron)."""
    now = timezone.now()
    requeued = []
    expired = TranscriptionJob.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now)
    for job in expired:
        if job.attempts >= job.max_attempts:
            _fail_if_exhausted(job.pk)
            continue
        with transaction.atomic():
            taken = TranscriptionJob.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, lease_expires_at__lt=now
            ).update(status=JobStatus.QUEUED, worker_id="", lease_expires_at=None)
            if taken:
                _set_story_state(job.story_id, MediaState.WAITING)
                _log(job.story_id, "storyloom.transcription.requeue", job)
                _enqueue_task(job.pk)
                requeued.append(job.pk)
    return requeued


def job_enqueue_pending(*, model: str | None = None, user=None) -> list[TranscriptionJob]:
    """Every story waiting for transcription with no finished job for the model, queued (and
    jobs whose worker died put back on the queue)."""
    job_requeue_expired()
    model_name = (model or settings.WHISPER_MODEL).strip()
    waiting = StoryPage.objects.filter(
        media_state__in=[MediaState.WAITING, MediaState.PROCESSING]
    ).order_by("pk")
    jobs = []
    for story in waiting:
        name = TEXT_MODEL if story.kind == StoryKind.TEXT else model_name
        existing = TranscriptionJob.objects.filter(story=story, model=name).first()
        if existing is not None and existing.status == JobStatus.DONE:
            continue
        try:
            job = job_enqueue(story=story, model=model, user=user)
        except ValidationError:
            continue
        if existing is not None and existing.status == JobStatus.QUEUED:
            _enqueue_task(job.pk)  # its task may have been lost (a flushed queue): the
            # task is harmless twice, since only one worker can claim the job
        jobs.append(job)
    return jobs


# --- Transcripts ---------------------------------------------------------------------------


@transaction.atomic
def transcript_accept(*, transcript: Transcript, user) -> Transcript:
    """Make this transcript the one people see (after re-transcribing with another model)."""
    story = transcript.story
    roles = project_roles_for_user(user=user, project=story.get_project())
    if Role.STEWARD not in roles and not (Role.REPORTER in roles and story.reporter_id == user.pk):
        raise PermissionDenied("Only the story's reporter or a data steward can do this.")
    Transcript.objects.filter(story=story, is_current=True).exclude(pk=transcript.pk).update(
        is_current=False
    )
    Transcript.objects.filter(pk=transcript.pk).update(is_current=True, accepted_by=user)
    transcript.refresh_from_db()
    log(
        instance=story,
        action="storyloom.transcription.accept",
        user=user,
        data={"transcript": transcript.pk, "model": transcript.model_id},
    )
    # Downstream work follows the transcript people now see: redaction suggestions and
    # theme places (transcript_ready), and the playable copy and clips with this
    # transcript's redactions silenced (redactions_changed).
    _announce_transcript(story.pk)
    from transcription.signals import redactions_changed

    transaction.on_commit(
        lambda: redactions_changed.send_robust(sender=Transcript, story_id=story.pk)
    )
    return transcript
