"""Both task backends with real workers: Django's `@task` (django.tasks, Django 6.1) queued
through django-tasks-db and run by `db_worker`, and queued through django-tasks-rq into a
real Redis and run by `rqworker` with the command docker-compose.yml gives the workers."""

import json
import signal
import subprocess
import sys

import pytest
import redis
import yaml
from django.core.management import call_command
from django.tasks import TaskResultStatus

from tests import task_probe
from tests.test_settings import REPO, clean_env

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database number of its own, flushed around tests


# --- Database backend (the default) ------------------------------------------------------
@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": settings.TASK_QUEUES}
    }


def run_db_worker(queue_name):
    """`manage.py db_worker --batch`: run what is waiting, then stop."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker",
            queue_name=queue_name,
            batch=True,
            startup_delay=False,
            interval=0,
            reload=False,
            verbosity=0,
        )
    finally:  # the worker installs its own signal handlers; give pytest its own back
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_database_worker_runs_a_queued_task(tmp_path, database_tasks):
    marker = tmp_path / "ran.txt"

    result = task_probe.write_marker.enqueue(str(marker), "hello")

    assert result.status == TaskResultStatus.READY
    assert result.task.queue_name == "default"
    assert not marker.exists()  # queued, not run in the request

    run_db_worker("*")

    assert marker.read_text() == "hello"
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"path": str(marker), "length": 5}
    assert len(result.worker_ids) == 1
    again = task_probe.write_marker.get_result(result.id)
    assert again.status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_takes_only_the_queues_it_is_given(tmp_path, database_tasks):
    marker = tmp_path / "transcribed.txt"
    result = task_probe.write_marker_with_context.enqueue(str(marker), "words")
    assert result.task.queue_name == "transcription"

    run_db_worker("default,themes")
    result.refresh()
    assert result.status == TaskResultStatus.READY and not marker.exists()

    run_db_worker("transcription")
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert marker.read_text() == f"{result.id}:words"  # the task saw its own context
    assert result.return_value == {"path": str(marker), "attempt": 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failing_task_is_recorded_as_failed(database_tasks):
    result = task_probe.fail_loudly.enqueue("the model file is missing")

    run_db_worker("*")

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    (error,) = result.errors
    assert error.exception_class is RuntimeError
    assert "the model file is missing" in error.traceback


# --- Redis backend (django-tasks-rq) -------------------------------------------------------
RQ_SCRIPT = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "cms.settings"
import django
django.setup()
from django.tasks import TaskResultStatus, task_backends
from tests import task_probe

mode, arg = sys.argv[1], json.loads(sys.argv[2])
out = {"backend": type(task_backends["default"]).__module__}
if mode == "enqueue":
    results = {
        "default": task_probe.write_marker.enqueue(arg["default"], "hello"),
        "transcription": task_probe.write_marker_with_context.enqueue(
            arg["transcription"], "words"
        ),
        "failing": task_probe.fail_loudly.enqueue("the model file is missing"),
    }
    out["results"] = {
        name: {"id": r.id, "status": str(r.status), "queue": r.task.queue_name}
        for name, r in results.items()
    }
else:
    tasks = {
        "default": task_probe.write_marker,
        "transcription": task_probe.write_marker_with_context,
        "failing": task_probe.fail_loudly,
    }
    out["results"] = {}
    for name, result_id in arg.items():
        r = tasks[name].get_result(result_id)
        out["results"][name] = {
            "status": str(r.status),
            "successful": r.status == TaskResultStatus.SUCCESSFUL,
            "return_value": r.return_value if r.status == TaskResultStatus.SUCCESSFUL else None,
            "errors": [[e.exception_class_path, e.traceback] for e in r.errors],
            "attempts": r.attempts,
        }
print("RQ-JSON " + json.dumps(out))
"""


@pytest.fixture
def redis_db():
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as e:
        pytest.fail(
            f"Redis is not answering on {REDIS_URL} ({e}). The Redis task-backend tests are "
            "part of the suite: start Redis (e.g. `apt-get install redis-server`, or "
            "`docker run -p 127.0.0.1:6379:6379 redis:7`) and run them again."
        )
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def rq_env(tmp_path):
    return clean_env(tmp_path / "var", REDIS_URL=REDIS_URL)


def run_rq_script(tmp_path, mode, arg):
    done = subprocess.run(
        [sys.executable, "-c", RQ_SCRIPT, mode, json.dumps(arg)],
        cwd=REPO,
        env=rq_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RQ-JSON "))
    return json.loads(line.removeprefix("RQ-JSON "))


def run_rqworker(tmp_path, args):
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=rq_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


def compose_worker_command():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["worker"]["command"]
    command = command.split() if isinstance(command, str) else list(command)
    assert command[:2] == ["python", "manage.py"]
    return command[2:]


@pytest.mark.slow
def test_the_rq_worker_runs_tasks_queued_through_django_tasks(tmp_path, redis_db):
    markers = {"default": tmp_path / "ran.txt", "transcription": tmp_path / "transcribed.txt"}

    queued = run_rq_script(tmp_path, "enqueue", {k: str(v) for k, v in markers.items()})

    assert queued["backend"] == "cms.task_backends"  # django-tasks-rq's, for our jobs
    results = queued["results"]
    assert {name: r["queue"] for name, r in results.items()} == {
        "default": "default",
        "transcription": "transcription",
        "failing": "default",
    }
    assert all(r["status"] == "READY" for r in results.values())
    assert redis_db.llen("rq:queue:default") == 2
    assert redis_db.llen("rq:queue:transcription") == 1
    assert not any(marker.exists() for marker in markers.values())

    # A worker for the default queue only leaves the transcription task waiting.
    run_rqworker(tmp_path, ["rqworker", "default", "--burst", "--job-class", "django_tasks_rq.Job"])
    assert markers["default"].read_text() == "hello"
    assert not markers["transcription"].exists()

    # The workers' command from docker-compose.yml, told to stop when the queues are empty.
    run_rqworker(tmp_path, [*compose_worker_command(), "--burst"])
    transcription_id = results["transcription"]["id"]
    assert markers["transcription"].read_text() == f"{transcription_id}:words"

    ids = {name: r["id"] for name, r in results.items()}
    finished = run_rq_script(tmp_path, "results", ids)["results"]
    assert finished["default"]["successful"] is True
    assert finished["default"]["return_value"] == {"path": str(markers["default"]), "length": 5}
    assert finished["transcription"]["successful"] is True
    assert finished["transcription"]["return_value"]["attempt"] == 1
    assert finished["failing"]["status"] == "FAILED"
    ((exception_class, traceback),) = finished["failing"]["errors"]
    assert exception_class == "builtins.RuntimeError"
    assert "the model file is missing" in traceback
