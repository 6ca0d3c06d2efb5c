"""Thin task wrappers: they take ids, and the services do the work."""

from django.tasks import task

from transcription import services


@task(queue_name="transcription")
def transcribe_story_task(job_id: int) -> dict:
    """Do one transcription job. Safe to run twice: only one worker can claim a job."""
    job = services.job_run(job_id=job_id)
    # This worker is alive and free: put back any job whose worker died meanwhile.
    services.job_requeue_expired()
    if job is None:
        return {"job": job_id, "status": "gone"}
    return {"job": job.pk, "status": job.status, "attempts": job.attempts}


@task(queue_name="transcription")
def requeue_expired_task() -> list[int]:
    return services.job_requeue_expired()


# --- Clips and the redacted playable copy (issue 4) ----------------------------------------


@task(queue_name="transcription")
def clip_render_task(clip_id: int) -> dict:
    """Make one clip's sound (or text quote). Safe to run twice: only one worker can claim
    a clip, and an interrupted one is taken again once its lease runs out."""
    from transcription import clip_services

    clip = clip_services.clip_render(clip_id=clip_id)
    clip_services.clip_requeue_expired()
    clip_services.redacted_media_requeue_stale()
    if clip is None:
        return {"clip": clip_id, "status": "gone"}
    return {"clip": clip.pk, "status": clip.status, "attempts": clip.attempts}


@task(queue_name="transcription")
def story_playable_rerender_task(story_id: int) -> dict:
    """Make the story's playable copy again with its accepted redactions silenced."""
    from transcription import clip_services

    item = clip_services.story_playable_rerender(story_id=story_id)
    clip_services.clip_requeue_expired()
    return {"story": story_id, "media": str(item.pk) if item else None}
