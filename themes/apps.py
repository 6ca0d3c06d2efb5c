import logging
import sys
import threading

from django.apps import AppConfig

logger = logging.getLogger(__name__)

WORKER_COMMANDS = {"db_worker", "rqworker"}


class ThemesConfig(AppConfig):
    name = "themes"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Themes"

    def ready(self):
        from cms.exports import register_exporter
        from stories.erasure import register_erasure_step
        from themes import exports, receivers
        from themes.erasure import themes_erasure_step
        from transcription.signals import redactions_changed, transcript_ready

        transcript_ready.connect(
            receivers.on_transcript_ready, dispatch_uid="themes.transcript_ready"
        )
        redactions_changed.connect(
            receivers.on_redactions_changed, dispatch_uid="themes.redactions_changed"
        )
        register_exporter("themes", exports.ThemesExporter())
        register_erasure_step("themes", themes_erasure_step, order=30)
        if len(sys.argv) > 1 and sys.argv[1] in WORKER_COMMANDS and "runserver" not in sys.argv:
            start_lease_sweeper()


_sweeper_started = False


def start_lease_sweeper() -> None:
    """In worker processes: put back on the queue the theme runs of workers that died, once
    at start (after the app registry is ready) and then every half lease period."""
    global _sweeper_started
    if _sweeper_started:
        return
    _sweeper_started = True

    def sweep_forever():
        import time

        from django.apps import apps
        from django.db import connections

        from themes import services

        # Not before every app is ready: until django_tasks_db's is, enqueueing a task fails
        # (its run_after default is set by a signal that app connects), and on a slow start
        # the sweep's requeues were lost until the next sweep, minutes later.
        while not apps.ready:
            time.sleep(0.2)
        time.sleep(2)
        while True:
            try:
                requeued = services.theme_run_requeue_expired()
                if requeued:
                    logger.warning(
                        "Put back on the queue the theme runs %s: their worker died.", requeued
                    )
            except Exception:  # noqa: BLE001 — the sweep must never stop the worker
                logger.exception("The theme run lease sweep failed; it will try again.")
            finally:
                connections.close_all()  # this thread's own connections
            time.sleep(max(30, services.lease_seconds() // 2))

    threading.Thread(target=sweep_forever, name="themes-lease-sweep", daemon=True).start()
