"""The canary (issue 8, "Done when"): a story planted with made-up words, a pure tone, a real
name and a distinctive file name goes through transcription, redaction, a clip, themes, a
workshop pack and an action; its consent is withdrawn; after the erasure nothing of it is left
in the database (every row of every table, the search index's among them) or in storage, also
when the erasure's worker is killed half-way. And none of it ever reached the logs or the
audit log.

Real components throughout (Whisper tiny.en, BERTopic, ffmpeg, db_worker processes): the two
tests take about 10 and 20 seconds here (twice that when the machine is busy)."""

import json
import logging
import signal
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from wagtail.models import ModelLogEntry, PageLogEntry

from tests.privacy import canary

# Every step, whether the erasure ran straight through or was killed half-way.
STEPS = ["actions", "workshops", "themes", "clips", "transcription", "stories"]


def check_ledger(ledger: dict, made: dict) -> None:
    """What each step says it removed: the same after a crash as without one."""
    assert len(made["files_before"]) == 4  # recording, playable copy, consent form, clip
    assert set(STEPS) <= set(ledger), ledger
    removed = {step: ledger[step]["removed"] for step in STEPS}
    # The action's copy of its theme's name holds a word only this story said when the
    # engine put the canary word in that name (check_found_before).
    linked_name_had_it = "zorblat" in made["theme_name"].lower()
    assert removed["actions"] in ({}, {"theme names in actions": 1})
    if linked_name_had_it:
        assert removed["actions"] == {"theme names in actions": 1}
    assert removed["workshops"]["packs marked as made again"] == 1
    assert removed["workshops"]["packs with words only this story gave"] == 1
    assert removed["themes"]["theme assignments"] == len(made["segment_ids"])
    assert removed["themes"]["theme runs queued"] == 1
    assert removed["clips"] == {"clips": 1, "clip files": 1}
    assert removed["transcription"]["segments"] == len(made["segment_ids"])
    assert removed["transcription"]["transcripts"] == 1
    assert removed["stories"]["stories"] == 1
    assert removed["stories"]["recordings and copies"] == 2  # the original, the playable copy
    assert removed["stories"]["consent evidence files"] == 1
    assert removed["stories"]["storytellers with no other story"] == 1
    assert removed["stories"]["tags no longer used"] >= 1


def check_found_before(hits: dict, theme_name: str) -> None:
    """Before the erasure the scan finds the canary where it should: so its silence after
    the erasure means something."""
    database, files = hits["database"], hits["files"]
    assert "transcription_segment.text" in database["phrase"]
    for found in (database["phrase"], database["story title token"]):  # summary, title
        assert any(place.startswith("wagtailsearch_indexentry.") for place in found)
    assert "themes_theme.keywords" in database["phrase word zorblat"]
    # The action holds the theme's name as it was when linked: the word is there when the
    # engine put it among the words the name is made of (it does not always: BERTopic's
    # keyword order depends on the other stories' lines).
    if "zorblat" in theme_name.lower():
        assert "actions_action.theme_refs" in database["phrase word zorblat"]
    assert "transcription_redaction.original" in database["real name Quenby"]
    assert "stories_storyteller.pseudonym" in database["pseudonym"]
    assert "stories_storymedia.original_name" in database["upload file name"]
    assert database["recording sha256"] == ["stories_storymedia.sha256"]
    assert any(path.endswith(".pdf") for path in files["phrase"])  # the consent form
    assert len(files["same bytes as the recording"]) == 1
    # The original, the playable copy with the name silenced, and the clip.
    assert len(files["sounds the tone"]) == 3


def _log_text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info)
    return text + (record.stack_info or "")


def _audit_text(entry) -> str:
    return f"{entry.label}\n{json.dumps(entry.data, default=str)}"


@pytest.fixture
def real_engines(settings):
    settings.WHISPER_MODEL = "tiny.en"
    settings.WHISPER_BEAM_SIZE = 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_withdrawn_story_leaves_no_trace_and_never_reached_the_logs(
    real_engines, private_media, caplog, client
):
    caplog.set_level(logging.WARNING, logger="numba")  # its compiler's traces, not ours
    caplog.set_level(logging.DEBUG)  # the root logger (and the capture), as LOG_LEVEL=DEBUG
    folders = [private_media, settings.MEDIA_ROOT]

    made = canary.run_flow().as_dict()
    check_found_before(canary.nonempty(canary.scan(made["sha256"], folders)), made["theme_name"])
    audit = [*PageLogEntry.objects.all(), *ModelLogEntry.objects.all()]

    canary.run_worker()  # the erasure's task, as a worker runs it
    # A link to the story, followed after it is gone: 404, as for anything nobody may see.
    client.force_login(User.objects.get(username="rita"))
    assert made["url"] and client.get(made["url"]).status_code == 404

    assert canary.nonempty(canary.scan(made["sha256"], folders)) == {}
    final = canary.state(made)
    assert (final["status"], final["attempts"], final["story_left"]) == ("done", 1, False)
    assert final["files_left"] == []
    check_ledger(final["ledger"], made)

    # Logs and the audit log: never the words, the names or the file's name. (Who did what
    # to which story stays in the audit log; what the story was called, only until it is
    # erased: the scan above covers the log tables after the erasure.)
    needles = canary.needles(made["sha256"])
    secret = {name: needles[name] for name in needles if name != "recording sha256"}
    logged = [_log_text(record).lower() for record in caplog.records]
    assert len(logged) > 10  # the capture works: the flow logs as it goes
    assert any(line.startswith("not found: /") for line in logged)  # the link followed
    leaks = {name: [t for t in logged if word in t][:3] for name, word in secret.items()}
    assert {name: lines for name, lines in leaks.items() if lines} == {}
    del secret["story title token"]  # a page's log entries are labelled with its title
    audited = [_audit_text(entry).lower() for entry in audit]
    leaks = {name: [t for t in audited if word in t][:3] for name, word in secret.items()}
    assert {name: lines for name, lines in leaks.items() if lines} == {}


# --- kill -9 half-way ----------------------------------------------------------------------


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"Gave up waiting for {what() if callable(what) else what}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_erasure_worker_killed_half_way_is_finished_by_the_next_one(site, tmp_path):
    made = site.script("flow")  # the same flow, in another process, on a database it can see
    pause, log = tmp_path / "paused", tmp_path / "workers.log"

    # A real worker takes the erasure; a test-only step (tests/privacy/apps.py) holds it
    # inside its transaction after actions, workshops, themes and clips; kill -9.
    worker = site.popen(
        "manage.py",
        "db_worker",
        "--queue-name",
        "default",
        "--no-startup-delay",
        log=log,
        CANARY_PAUSE_FILE=str(pause),
    )
    try:
        _wait_for(pause.exists, 120, "the worker to reach the middle of the erasure")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed = site.erasure(made["erasure_id"])
    assert (killed["status"], killed["attempts"]) == ("running", 1)
    done_first = ["actions", "workshops", "themes", "clips"]
    assert sorted(killed["ledger"]) == sorted(done_first)
    story_rows = site.sql(
        "SELECT 1 FROM stories_storypage WHERE page_ptr_id = %s", made["story_id"]
    )
    assert story_rows  # not yet erased
    site.expire_lease(made["erasure_id"])

    # A worker started afterwards (as after a restart) finishes it with nobody's help: the
    # workers' lease sweep (transcription/apps.py) puts it back on the queue.
    worker = site.popen(
        "manage.py", "db_worker", "--queue-name", "default", "--no-startup-delay", log=log
    )
    try:
        _wait_for(
            lambda: site.erasure(made["erasure_id"])["status"] == "done",
            90,
            lambda: "the erasure; the workers said:\n" + log.read_text()[-3000:],
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    final = site.script("final", made)
    assert (final["status"], final["attempts"], final["error"]) == ("done", 2, "")
    assert not final["story_left"] and final["files_left"] == []
    assert set(final["ledger"]) == set(final["steps"])
    check_ledger(final["ledger"], made)
    # The steps done before the kill were not done again (one theme run queued, not two).
    for step in done_first:
        assert final["ledger"][step] == killed["ledger"][step]
    assert final["queued_theme_runs"] == 1
    assert final["found"] == {}
