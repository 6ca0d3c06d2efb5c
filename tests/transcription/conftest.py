import json
import shutil
import subprocess
import sys

import pytest

from tests.test_settings import REPO, clean_env

SCRIPT = REPO / "tests" / "transcription" / "worker_script.py"


class Processes:
    """Runs manage.py and the worker script against this test's own copy of the database."""

    def __init__(self, var, **env):
        self.var = var
        self.env = clean_env(var, WHISPER_MODEL="tiny.en", **env)

    def popen(self, *args):
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, *args, timeout=300, check=True):
        done = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        return done

    def manage(self, *args, **kwargs):
        return self.run("manage.py", *args, **kwargs)

    def script(self, mode, argument):
        done = self.run(str(SCRIPT), mode, json.dumps(argument))
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))


@pytest.fixture
def processes(migrated_var, tmp_path):
    var = tmp_path / "var"
    shutil.copytree(migrated_var, var)

    def make(**env):
        return Processes(var, **env)

    return make


@pytest.fixture(scope="session")
def long_recording(tmp_path_factory, fixtures_dir_session):
    """About seven minutes of real speech: the LJ Speech clips four times, then jfk.flac."""
    clips = sorted((fixtures_dir_session / "audio" / "ljspeech").glob("*.flac"))
    folder = tmp_path_factory.mktemp("long")
    same = []  # sox joins files only when their rate and channels agree
    for i, clip in enumerate([*clips, fixtures_dir_session / "audio" / "jfk.flac"]):
        same.append(str(folder / f"{i}.wav"))
        subprocess.run(["sox", str(clip), "-r", "16000", "-c", "1", same[-1]], check=True)
    path = folder / "long.flac"
    subprocess.run(["sox", *(same[:-1] * 4), same[-1], str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="session")
def fixtures_dir_session():
    from tests.conftest import FIXTURES

    return FIXTURES
