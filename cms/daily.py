"""Daily jobs (retention, reminders): each app registers its own in AppConfig.ready().
`manage.py daily` runs each job at most once a calendar day, whoever calls it and however
often: `make run` calls it every hour, and the compose file has a scheduler service that
does the same. A job that fails is logged and tried again on the next call that day."""

import logging
from collections.abc import Callable
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from cms.models import DailyRun

logger = logging.getLogger(__name__)

# A job takes today's date and returns a short summary for the log (no personal data).
DailyJob = Callable[[date], str]

_jobs: dict[str, DailyJob] = {}


def register_daily_job(name: str, job: DailyJob) -> None:
    _jobs[name] = job


def daily_jobs() -> dict[str, DailyJob]:
    return dict(_jobs)


def daily_run(*, today: date | None = None) -> dict[str, str]:
    """Run every job not yet done today. Returns what each job that ran said."""
    today = today or timezone.localdate()
    done = {}
    for name, job in sorted(_jobs.items()):
        try:
            with transaction.atomic():
                run = DailyRun.objects.create(name=name, day=today)
        except IntegrityError:
            continue  # done today already, or running elsewhere
        try:
            outcome = job(today) or "done"
        except Exception as error:  # noqa: BLE001 — one job's failure must not stop the rest
            logger.exception("Daily job %s failed", name)
            DailyRun.objects.filter(pk=run.pk).delete()  # try again on the next call
            done[name] = f"failed ({type(error).__name__})"
            continue
        DailyRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), outcome=str(outcome)[:300]
        )
        done[name] = str(outcome)
    return done
