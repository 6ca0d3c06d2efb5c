import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection

from tests.test_settings import REPO, clean_env

SCRIPT = REPO / "tests" / "privacy" / "worker_script.py"


class Site:
    """Storyloom in other processes (manage.py, worker_script.py), on this test's database:
    a copy of a migrated SQLite file, or, on PostgreSQL, the test database itself (the test
    is transactional, so what they commit is seen here and cleared afterwards)."""

    def __init__(self, var, database_url=None):
        self.var = var
        extra = {"DATABASE_URL": database_url} if database_url else {}
        self.env = clean_env(
            var,
            DJANGO_SETTINGS_MODULE="tests.privacy.worker_settings",
            WHISPER_MODEL="tiny.en",
            WHISPER_BEAM_SIZE=1,
            THEMES_MODEL_DIR=settings.THEMES_MODEL_DIR,
            **extra,
        )

    def sql(self, query: str, *params) -> list[tuple]:
        """Read or write the database the other processes use, from here (no Django start:
        the SQLite file directly, or this test's own connection to PostgreSQL)."""
        if "DATABASE_URL" in self.env:
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else []
        with sqlite3.connect(self.var / "storyloom.sqlite3", timeout=20) as db:
            return db.execute(query.replace("%s", "?"), params).fetchall()

    def erasure(self, erasure_id) -> dict:
        status, attempts, ledger = self.sql(
            "SELECT status, attempts, ledger FROM stories_erasurerequest WHERE id = %s",
            erasure_id,
        )[0]
        return {
            "status": status,
            "attempts": attempts,
            "ledger": json.loads(ledger) if isinstance(ledger, str) else ledger,
        }

    def expire_lease(self, erasure_id) -> None:
        """As a few minutes after its worker died: the erasure's lease has run out."""
        past = (
            "2000-01-01 00:00:00"
            if "DATABASE_URL" not in self.env
            else datetime(2000, 1, 1, tzinfo=UTC)
        )
        self.sql(
            "UPDATE stories_erasurerequest SET lease_expires_at = %s WHERE id = %s",
            past,
            erasure_id,
        )

    def popen(self, *args, log, **env):
        """Start a process; what it prints goes to the file `log` (shown when a test fails)."""
        with open(log, "ab") as out:
            return subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def script(self, mode, argument=None, timeout=300):
        done = subprocess.run(
            [sys.executable, str(SCRIPT), mode, json.dumps(argument)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))


@pytest.fixture
def site(request, tmp_path):
    var = tmp_path / "var"
    if connection.vendor == "sqlite":
        import shutil

        shutil.copytree(request.getfixturevalue("migrated_var"), var)
        return Site(var)
    var.mkdir()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return Site(var, url)
