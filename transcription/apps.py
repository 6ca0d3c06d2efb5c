import logging
import sys
import threading

from django.apps import AppConfig

logger = logging.getLogger(__name__)

WORKER_COMMANDS = {"db_worker", "rqworker"}


class TranscriptionConfig(AppConfig):
    name = "transcription"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Transcription"

    def ready(self):
        from stories.panels import register_story_panel
        from stories.signals import story_media_added
        from transcription import receivers

        story_media_added.connect(
            receivers.on_story_media_added, dispatch_uid="transcription.story_media_added"
        )
        register_story_panel(receivers.transcription_panel)
        from transcription.signals import transcript_ready

        transcript_ready.connect(
            receivers.on_transcript_ready, dispatch_uid="transcription.redaction_suggest"
        )
        from cms.exports import register_exporter
        from transcription.exports import SegmentsExporter

        register_exporter("segments", SegmentsExporter())

        from cms.audit import register_sensitive_action
        from cms.daily import register_daily_job
        from stories.erasure import register_erasure_step
        from transcription.clip_services import clips_erasure_step
        from transcription.erasure import (
            originals_after_verification,
            transcription_erasure_step,
        )

        register_erasure_step("clips", clips_erasure_step, order=40)
        register_erasure_step("transcription", transcription_erasure_step, order=45)
        register_daily_job("originals-after-verification", originals_after_verification)
        register_sensitive_action("storyloom.transcript.view_unredacted")
        if len(sys.argv) > 1 and sys.argv[1] in WORKER_COMMANDS and "runserver" not in sys.argv:
            start_lease_sweeper()


_sweeper_started = False


def start_lease_sweeper() -> None:
    """In worker processes: put back on the queue the jobs of workers that died, once at
    start (after the app registry is ready) and then every lease period."""
    global _sweeper_started
    if _sweeper_started:
        return
    _sweeper_started = True

    def sweep_forever():
        import time

        from django.apps import apps
        from django.db import connections

        from transcription import services

        # Not before every app is ready: until django_tasks_db's is, enqueueing a task fails
        # (its run_after default is set by a signal that app connects), and on a slow start
        # the sweep's requeues were lost until the next sweep, minutes later.
        while not apps.ready:
            time.sleep(0.2)
        time.sleep(2)
        while True:
            try:
                from transcription import clip_services

                requeued = services.job_requeue_expired()
                if requeued:
                    logger.warning(
                        "Put back on the queue the jobs %s: their worker died.", requeued
                    )
                clip_services.clip_requeue_expired()
                clip_services.redacted_media_requeue_stale()
                from stories.erasure import erasure_requeue_expired

                erasure_requeue_expired()
            except Exception:  # noqa: BLE001 — the sweep must never stop the worker
                logger.exception("The lease sweep failed; it will try again.")
            finally:
                connections.close_all()  # this thread's own connections
            time.sleep(max(30, services.lease_seconds() // 2))

    threading.Thread(target=sweep_forever, name="transcription-lease-sweep", daemon=True).start()
