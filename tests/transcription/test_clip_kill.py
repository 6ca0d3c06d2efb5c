"""A worker killed with `kill -9` while it renders a clip: after its lease runs out another
worker takes the clip up, and the clip ends with one playable file and nothing half-made."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from tests.test_settings import REPO

SCRIPT = REPO / "tests" / "transcription" / "clip_worker_script.py"
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "audio"

# The longest clip there may be, near the end of a seven-minute story: its render (decode,
# silence, AAC encode) takes seconds, long enough to be caught in the middle.
START, END = 120.0, 420.0

pytestmark = [pytest.mark.slow, pytest.mark.no_database]


@pytest.fixture(scope="module")
def seven_minutes(tmp_path_factory):
    """About seven minutes of real speech as one FLAC: the LJ Speech clips four times, then
    jfk.flac (made with PyAV, as 16 kHz mono)."""
    sources = [*sorted((FIXTURES / "ljspeech").glob("*.flac")) * 4, FIXTURES / "jfk.flac"]
    path = tmp_path_factory.mktemp("clip-kill") / "story.flac"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=16000, layout="mono")
        for source in sources:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
            with av.open(str(source)) as container:
                for frame in [*container.decode(audio=0), None]:
                    for chunk in resampler.resample(frame):
                        chunk.pts = None
                        out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    return path


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Gave up waiting for {what() if callable(what) else what}")


def _clip_row(database, clip_id):
    with sqlite3.connect(database, timeout=20) as connection:
        return connection.execute(
            "SELECT status, progress, attempts, file FROM transcription_clip WHERE id = ?",
            (clip_id,),
        ).fetchone()


def _lease_expired(database, clip_id) -> bool:
    with sqlite3.connect(database, timeout=20) as connection:
        (until,) = connection.execute(
            "SELECT lease_expires_at FROM transcription_clip WHERE id = ?", (clip_id,)
        ).fetchone()
    return until is not None and datetime.fromisoformat(until).replace(tzinfo=UTC) < datetime.now(
        UTC
    )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Workers:
    """`manage.py db_worker` processes on this test's own copy of the database, with leases
    of seconds (tests/transcription/short_lease_settings.py)."""

    def __init__(self, processes, tmp_path):
        self.run = processes(DJANGO_SETTINGS_MODULE="tests.transcription.short_lease_settings")
        self.database = self.run.var / "storyloom.sqlite3"
        self.logs = tmp_path
        self.started = []

    def start(self, name):
        log = (self.logs / f"{name}.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "transcription"]
            + ["--no-startup-delay"],
            cwd=REPO,
            env=self.run.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(worker.pid)
        return worker

    def log(self, name):
        return (self.logs / f"{name}.log").read_text()[-4000:]

    def script(self, mode, argument):
        done = self.run.run(str(SCRIPT), mode, json.dumps(argument))
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line.removeprefix("RESULT "))


@pytest.fixture
def workers(processes, tmp_path):
    made = Workers(processes, tmp_path)
    yield made
    for pid in made.started:  # only the processes this test started (and their renders)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_worker_killed_mid_render_leaves_one_playable_clip_after_another_takes_over(
    workers, seven_minutes
):
    made = workers.script("setup", {"audio": str(seven_minutes), "start": START, "end": END})
    clip_id = made["clip"]
    assert made["seconds"] > END
    assert workers.script("state", clip_id)["status"] == "queued"

    first = workers.start("first")
    try:
        # The render is under way: the worker holds the clip and its child process is
        # cutting the sound into the work folder.
        render = _wait_for(
            lambda: (
                (r := _clip_row(workers.database, clip_id))
                and r[0] == "rendering"
                and next((c for c in _children(first.pid) if "playable" in _cmdline(c)), None)
            ),
            timeout=120,
            what=lambda: f"the first worker to start rendering:\n{workers.log('first')}",
        )
        workers.started.append(render)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()

    killed = workers.script("state", clip_id)
    assert killed["status"] == "rendering" and killed["attempts"] == 1, killed
    assert killed["progress"] < 100 and killed["file"] == "" and killed["stored"] == []
    assert killed["clip_logs"] == ["storyloom.clip.create"]

    # Nobody renews the lease now. Once it has run out, a worker (restarted, or another one)
    # puts the clip back on the queue and makes it.
    _wait_for(
        lambda: _lease_expired(workers.database, clip_id),
        timeout=30,
        what="the dead worker's lease to run out",
    )
    second = workers.start("second")
    try:
        _wait_for(
            lambda: _clip_row(workers.database, clip_id)[0] not in ("queued", "rendering"),
            timeout=120,
            what=lambda: f"the second worker to finish the clip:\n{workers.log('second')}",
        )
    finally:
        second.terminate()
        second.wait(timeout=30)

    final = workers.script("state", clip_id)
    assert final["status"] == "done" and final["error"] == "", final
    assert final["attempts"] == 2 and final["progress"] == 100 and final["playable"]
    assert final["content_type"] == "audio/mp4"
    # One file: in storage, the clip's own; nothing left in the work folder; no other file
    # anywhere in private storage but the recording.
    assert [f"{final['file'].rsplit('/', 1)[0]}/{name}" for name in final["stored"]] == [
        final["file"]
    ]
    assert final["work"] == [], final["work"]
    others = [f for f in final["private"] if not f.startswith("stories/")]
    assert others == [final["file"]], final["private"]
    assert sorted(final["clip_logs"]) == ["storyloom.clip.create", "storyloom.clip.render"]
    # Playable: its sound decodes from start to end, and is as long as the clip.
    with av.open(final["path"]) as played:
        assert END - START - 0.5 < played.duration / 1_000_000 < END - START + 0.5
        decoded = sum(frame.samples / frame.sample_rate for frame in played.decode(audio=0))
    assert END - START - 0.5 < decoded < END - START + 0.5

    # The killed worker's render, left running as an orphan, ended without leaving a file.
    _wait_for(lambda: not _alive(render), timeout=60, what="the orphaned render to end")
    assert workers.script("state", clip_id)["work"] == []
