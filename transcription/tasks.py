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
