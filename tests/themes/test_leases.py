"""Theme runs and dead workers (issue 9): a worker holds a run with a lease; a run whose
worker died is taken again once the lease runs out, and ends with one result."""

import signal
import sqlite3
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import services
from themes.models import RunStatus, Theme, ThemeRun


@pytest.fixture
def queued(project, reporter, steward, facilitator):
    analysed_story(project, reporter, steward, HOUSING, teller="Ann")
    analysed_story(project, reporter, steward, WORK, teller="Bob", role="staff")
    analysed_story(project, reporter, steward, DRINK, teller="Cat")
    return services.theme_run_start(project=project, user=facilitator, enqueue=False)


def _die(run: ThemeRun, *, lease_left: timedelta = timedelta(seconds=-1)) -> ThemeRun:
    """As if a worker took the run and was killed: running, its lease running out."""
    taken = services.theme_run_claim(run_id=run.pk, worker_id="dead-worker")
    ThemeRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() + lease_left)
    return taken


def test_a_run_whose_worker_died_is_finished_once_by_another(queued):
    _die(queued)

    run = services.theme_run_execute(run_id=queued.pk, engine=FakeEngine())

    assert run.status == RunStatus.DONE and run.is_current and run.attempts == 2
    assert run.lease_expires_at is None and Theme.objects.filter(run=run).count() == 3
    assert ThemeRun.objects.count() == 1


def test_a_live_lease_is_not_taken(queued):
    _die(queued, lease_left=timedelta(minutes=5))
    engine = FakeEngine()

    run = services.theme_run_execute(run_id=queued.pk, engine=engine)

    assert run.status == RunStatus.RUNNING and run.worker_id == "dead-worker"
    assert engine.fitted == []


def test_a_worker_that_lost_its_lease_stores_nothing(queued):
    def taken_over_meanwhile():
        ThemeRun.objects.filter(pk=queued.pk).update(worker_id="another-worker")

    run = services.theme_run_execute(
        run_id=queued.pk, engine=FakeEngine(on_fit=taken_over_meanwhile)
    )

    assert run.status == RunStatus.RUNNING and run.worker_id == "another-worker"
    assert not Theme.objects.exists() and run.fitted_state is None and not run.is_current


def test_the_sweep_puts_a_dead_workers_run_back_once(queued, django_capture_on_commit_callbacks):
    _die(queued)

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.theme_run_requeue_expired() == [queued.pk]
        assert services.theme_run_requeue_expired() == []

    assert len(callbacks) == 1  # one task for a worker
    queued.refresh_from_db()
    assert queued.status == RunStatus.QUEUED and queued.worker_id == ""


def test_asking_again_takes_up_a_dead_workers_run_instead_of_starting_another(
    queued, facilitator, django_capture_on_commit_callbacks
):
    _die(queued)

    with django_capture_on_commit_callbacks() as callbacks:
        again = services.theme_run_start(project=queued.project, user=facilitator)

    assert again.pk == queued.pk and len(callbacks) == 1
    assert ThemeRun.objects.count() == 1


def test_a_run_that_kills_its_worker_every_time_ends_failed_with_a_plain_message(
    queued, facilitator
):
    for _ in range(queued.max_attempts):
        _die(queued)

    assert services.theme_run_requeue_expired() == []
    queued.refresh_from_db()
    assert queued.status == RunStatus.FAILED and "stopped before it finished" in queued.message
    # Asking again starts a fresh run.
    fresh = services.theme_run_start(project=queued.project, user=facilitator, enqueue=False)
    assert fresh.pk != queued.pk and fresh.status == RunStatus.QUEUED


# --- kill -9 for real ----------------------------------------------------------------------


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Gave up waiting for {what}")


def _rows(database, sql, *params):
    with sqlite3.connect(database, timeout=20) as connection:
        return connection.execute(sql, params).fetchall()


def _run_row(database, run_id):
    found = _rows(
        database,
        "SELECT status, progress, attempts, is_current, theme_count, fitted_state IS NOT NULL"
        " FROM themes_themerun WHERE id = ?",
        run_id,
    )
    return found[0] if found else None


@pytest.mark.slow
def test_a_worker_killed_mid_run_leaves_one_finished_current_run(theme_processes):
    made = theme_processes.script("setup")
    run_id, project_id = made["run"], made["project"]
    database = theme_processes.database

    worker = theme_processes.popen(
        "manage.py", "db_worker", "--queue-name", "themes", "--no-startup-delay"
    )
    try:
        # Progress 10: the passages are made and the engine is fitting them.
        _wait_for(
            lambda: (r := _run_row(database, run_id)) and r[0] == "running" and r[1] >= 10,
            timeout=120,
            what="the worker to start fitting",
        )
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    status, progress, attempts, current, _, state = _run_row(database, run_id)
    assert (status, attempts, current, state) == ("running", 1, 0, 0) and progress < 100
    assert _rows(database, "SELECT count(*) FROM themes_theme")[0][0] == 0

    # Its lease runs out; the sweep puts it back on the queue; another worker does it.
    assert theme_processes.script("expire_and_sweep", run_id) == {"requeued": [run_id]}
    theme_processes.run(
        "manage.py", "db_worker", "--queue-name", "themes", "--batch", "--no-startup-delay"
    )
    # A second sweep finds nothing more to do.
    assert theme_processes.script("sweep") == {"requeued": []}

    runs = _rows(
        database,
        "SELECT id, status, attempts, is_current, theme_count FROM themes_themerun"
        " WHERE project_id = ?",
        project_id,
    )
    [(found_id, status, attempts, current, theme_count)] = runs
    assert (found_id, status, attempts, current) == (run_id, "done", 2, 1)
    themes = _rows(database, "SELECT count(*) FROM themes_theme WHERE run_id = ?", run_id)
    assert theme_count >= 2 and themes[0][0] == theme_count
    assigned = _rows(
        database,
        "SELECT count(DISTINCT segment_id) FROM themes_themeassignment a"
        " JOIN themes_theme t ON a.theme_id = t.id WHERE t.run_id = ?",
        run_id,
    )
    assert assigned[0][0] >= 10  # of the 13 segments
