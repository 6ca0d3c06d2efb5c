"""The server side of a journey: pytest-django's live server and a real task worker process
(`manage.py db_worker`, as `make run` and docker-compose start it) working on one database.

PostgreSQL: the worker simply opens the test database. SQLite: pytest-django's test
database lives in this process's memory, where no other process can reach it, so for the
journey it is copied into a file (SQLite's online backup), this process's connection is
pointed at that file, and the live server's request threads open their own connections to
it instead of sharing this one. Web and worker then share a SQLite file exactly as they do
under `make run`. Afterwards all goes back to the in-memory database, which a second
connection kept alive meanwhile and which the journey did not touch, so pytest-django's
clean-up works as for any other test."""

import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.test_settings import REPO, clean_env


def _postgres_url(db: dict) -> str:
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or 'localhost'}{port}/{quote(db['NAME'], safe='')}"


@contextmanager
def database_for_other_processes(folder: Path, live_server):
    """Yield a DATABASE_URL for another process that reaches the data this test and the
    live server see."""
    if connection.vendor == "postgresql":
        yield _postgres_url(connection.settings_dict)
        return
    if connection.vendor != "sqlite":
        raise RuntimeError(f"The journeys do not know how to share a {connection.vendor} database")
    if not connection.is_in_memory_db():
        yield f"sqlite:///{Path(connection.settings_dict['NAME']).resolve()}"
        return
    if connection.in_atomic_block:
        raise RuntimeError("The journey's database cannot be copied inside a transaction")

    memory_name = connection.settings_dict["NAME"]
    keeper = sqlite3.connect(memory_name, uri=True)  # the in-memory database lives on
    path = (folder / "journey.sqlite3").resolve()
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    connection.settings_dict["NAME"] = str(path)
    # No longer "in memory", so this really closes: the next query opens the file.
    connection.close()
    # The live server's request threads share this process's in-memory connection; on a
    # file each opens (and, after its request, closes) its own, as a web process would.
    server = live_server.thread.httpd
    shared, server.connections_override = server.connections_override, {}
    try:
        yield f"sqlite:///{path}"
    finally:
        server.connections_override = shared
        connection.close()
        connection.settings_dict["NAME"] = memory_name
        connection.ensure_connection()
        keeper.close()


class TaskWorker:
    """One `manage.py db_worker` process for every queue, with the shipped tiny.en Whisper
    model and the installed theme embedding model, on the test's database and files."""

    def __init__(self, *, database_url: str, var: Path):
        var.mkdir(parents=True, exist_ok=True)
        self.log_path = var / "worker.log"
        self.env = clean_env(
            var,
            DJANGO_SETTINGS_MODULE="cms.settings",
            DATABASE_URL=database_url,
            PRIVATE_MEDIA_ROOT=settings.PRIVATE_MEDIA_ROOT,
            MEDIA_ROOT=settings.MEDIA_ROOT,
            WHISPER_MODEL="tiny.en",
            THEMES_MODEL_DIR=settings.THEMES_MODEL_DIR,
            PYTHONUNBUFFERED="1",
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> "TaskWorker":
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--queue-name",
                "*",
                "--interval",
                "0.2",
                "--no-startup-delay",
                "--no-reload",
                "--verbosity",
                "2",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is not None:
            self._log.write(f"\n(the worker had stopped, exit status {self.process.returncode})\n")
        else:
            self.process.send_signal(signal.SIGTERM)  # ends now when idle, else after the task
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        self.process = None
