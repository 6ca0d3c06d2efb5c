"""The workers' lease sweepers start only once every app is ready: before that, enqueueing a
task fails (django_tasks_db connects the signal that sets its run_after default in its own
ready()), and the requeues of a slow start were lost until the next sweep, minutes later."""

import threading

import pytest
from django.apps import apps

from themes import apps as themes_apps
from transcription import apps as transcription_apps


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("app", "services", "first_call"),
    [
        (themes_apps, "themes.services", "theme_run_requeue_expired"),
        (transcription_apps, "transcription.services", "job_requeue_expired"),
    ],
)
def test_the_sweeper_waits_for_every_app_to_be_ready(monkeypatch, app, services, first_call):
    seen, swept = [], threading.Event()

    def sweep():
        seen.append(apps.ready)
        swept.set()
        threading.Event().wait()  # the sweeper (a daemon thread) goes no further

    monkeypatch.setattr(f"{services}.{first_call}", sweep)
    monkeypatch.setattr(app, "_sweeper_started", False)
    monkeypatch.setattr(apps, "ready", False)

    app.start_lease_sweeper()
    assert not swept.wait(3)  # longer than its two-second pause: still waiting

    monkeypatch.setattr(apps, "ready", True)
    assert swept.wait(5)
    assert seen == [True]
