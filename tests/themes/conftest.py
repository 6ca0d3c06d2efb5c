import json
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

from tests.test_settings import REPO, clean_env

SCRIPT = REPO / "tests" / "themes" / "worker_script.py"


class ThemeProcesses:
    """Runs manage.py and tests/themes/worker_script.py on this test's copy of the database."""

    def __init__(self, var):
        self.var = var
        self.database = var / "storyloom.sqlite3"
        self.env = clean_env(var, THEMES_MODEL_DIR=settings.THEMES_MODEL_DIR)

    def popen(self, *args):
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def run(self, *args, timeout=180):
        done = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        return done

    def script(self, mode, argument=None):
        done = self.run(str(SCRIPT), mode, json.dumps(argument))
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))


@pytest.fixture
def theme_processes(migrated_var, tmp_path):
    var = tmp_path / "var"
    shutil.copytree(migrated_var, var)
    return ThemeProcesses(var)
