"""Transcription jobs: idempotency, leases, retries, bad media, written stories."""

import signal
import sqlite3
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from stories.models import MediaState, StoryPage
from tests import factories
from tests.transcription.fakes import FakeEngine
from transcription import services
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def dummy_tasks(settings):
    """Tasks are recorded, not run, so a test can count what was enqueued."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django.tasks.backends.dummy.DummyBackend",
            "QUEUES": settings.TASK_QUEUES,
        }
    }
    from django.tasks import default_task_backend

    default_task_backend.clear()
    yield default_task_backend
    default_task_backend.clear()


@pytest.fixture
def story(project, reporter):
    return factories.story(project, reporter)


def transcription_tasks(backend):
    return [r for r in backend.results if r.task.name == "transcribe_story_task"]


def story_state(story):
    return StoryPage.objects.values_list("media_state", "media_message").get(pk=story.pk)


def test_enqueueing_twice_makes_one_job_and_one_task(
    story, dummy_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.job_enqueue(story=story)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.job_enqueue(story=story)

    assert first.pk == second.pk
    assert TranscriptionJob.objects.filter(story=story).count() == 1
    (result,) = transcription_tasks(dummy_tasks)
    assert result.task.queue_name == "transcription"
    assert result.kwargs == {"job_id": first.pk}
    assert story_state(story) == (MediaState.WAITING, "")


def test_the_task_is_enqueued_only_when_the_transaction_commits(
    story, dummy_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.job_enqueue(story=story)
        assert transcription_tasks(dummy_tasks) == []
    assert len(callbacks) == 1


def test_submitting_a_story_queues_its_transcription(
    project, reporter, dummy_tasks, django_capture_on_commit_callbacks
):
    page = factories.story(project, reporter)
    with django_capture_on_commit_callbacks(execute=True):
        factories.services.story_submit(story=page, user=reporter)
    job = TranscriptionJob.objects.get(story=page)
    assert job.status == JobStatus.QUEUED and job.media == page.media.get()
    assert [r.kwargs for r in transcription_tasks(dummy_tasks)] == [{"job_id": job.pk}]


def test_running_a_job_twice_stores_one_transcript(story):
    job = services.job_enqueue(story=story)
    engine = FakeEngine()

    done = services.job_run(job_id=job.pk, engine=engine)
    again = services.job_run(job_id=job.pk, engine=engine)

    assert done.status == again.status == JobStatus.DONE
    assert engine.calls == 1  # the second run found nothing to do
    assert Transcript.objects.filter(story=story).count() == 1
    segments = list(Segment.objects.filter(story=story).order_by("index"))
    assert [s.index for s in segments] == [0, 1]
    assert segments[0].text == "And so my fellow Americans"
    assert segments[0].start == 0.0 and segments[1].end == pytest.approx(11.0, abs=0.1)
    assert segments[0].words[0]["text"] == " And"
    assert segments[1].flags == ["low_confidence"]
    assert done.progress == 100 and done.attempts == 1 and done.audio_seconds > 10
    assert story_state(story) == (MediaState.READY, "")
    transcript = Transcript.objects.get(story=story)
    assert transcript.is_current and transcript.model_id == "fake/1"


def test_a_job_of_a_dead_worker_is_finished_once_by_another(story):
    job = services.job_enqueue(story=story)
    assert services.job_claim(job_id=job.pk, worker_id="dead") is not None
    TranscriptionJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    done = services.job_run(job_id=job.pk, worker_id="alive", engine=FakeEngine())

    assert done.status == JobStatus.DONE and done.worker_id == "alive" and done.attempts == 2
    # The dead worker, if it wakes up, has lost the job: its heartbeat says so.
    assert services.job_heartbeat(job_id=job.pk, worker_id="dead", progress=50) is False
    assert Transcript.objects.filter(story=story).count() == 1
    assert Segment.objects.filter(story=story).count() == 2


def test_a_live_lease_is_not_stolen(story):
    job = services.job_enqueue(story=story)
    services.job_claim(job_id=job.pk, worker_id="busy")
    engine = FakeEngine()

    assert services.job_claim(job_id=job.pk, worker_id="thief") is None
    still = services.job_run(job_id=job.pk, worker_id="thief", engine=engine)

    assert engine.calls == 0
    assert still.status == JobStatus.RUNNING and still.worker_id == "busy"
    assert services.job_heartbeat(job_id=job.pk, worker_id="busy", progress=40) is True
    assert TranscriptionJob.objects.get(pk=job.pk).progress == 40


def test_a_worker_that_lost_its_lease_stores_nothing(story):
    job = services.job_enqueue(story=story)
    slow = services.job_claim(job_id=job.pk, worker_id="slow")
    TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
    services.job_run(job_id=job.pk, worker_id="fast", engine=FakeEngine())

    with pytest.raises(services.LeaseLost):
        services._store(slow, "slow", (None, ["late words"]), elapsed=1.0)

    assert list(Segment.objects.filter(story=story).values_list("text", flat=True)) == [
        "And so my fellow Americans",
        "ask not what your country can do for you",
    ]


def test_expired_leases_are_put_back_on_the_queue(
    story, dummy_tasks, django_capture_on_commit_callbacks
):
    job = services.job_enqueue(story=story)
    services.job_claim(job_id=job.pk, worker_id="dead")
    TranscriptionJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        assert services.job_requeue_expired() == [job.pk]

    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.worker_id == ""
    assert [r.kwargs for r in transcription_tasks(dummy_tasks)] == [{"job_id": job.pk}]


def test_an_engine_that_fails_twice_then_works_ends_done_after_three_tries(story):
    job = services.job_enqueue(story=story)
    engine = FakeEngine(fail_times=2)

    first = services.job_run(job_id=job.pk, engine=engine)
    assert first.status == JobStatus.QUEUED and first.attempts == 1
    assert story_state(story)[0] == MediaState.WAITING
    services.job_run(job_id=job.pk, engine=engine)
    done = services.job_run(job_id=job.pk, engine=engine)

    assert done.status == JobStatus.DONE and done.attempts == 3
    assert Segment.objects.filter(story=story).count() == 2


def test_an_engine_that_always_fails_ends_failed_with_a_plain_message(story, steward, client):
    job = services.job_enqueue(story=story)

    failed = services.job_run_until_finished(job_id=job.pk, engine=FakeEngine(always_fail=True))

    assert failed.status == JobStatus.FAILED and failed.attempts == 3
    assert failed.error.startswith("We could not turn this recording into text")
    assert "the model file is missing" in failed.error  # the detail, for the steward
    state, message = story_state(story)
    assert state == MediaState.FAILED
    assert "data steward" in message and "model file" not in message
    assert not Transcript.objects.filter(story=story).exists()

    client.force_login(steward)
    listing = client.get("/admin/transcription_jobs/")
    assert listing.status_code == 200
    assert story.title in listing.text and "Try again" in listing.text


def test_a_steward_can_try_a_failed_job_again(story, steward, reporter, client):
    job = services.job_enqueue(story=story)
    services.job_run_until_finished(job_id=job.pk, engine=FakeEngine(always_fail=True))

    with pytest.raises(PermissionDenied):
        services.job_retry(job=TranscriptionJob.objects.get(pk=job.pk), user=reporter)
    client.force_login(steward)
    page = client.get(f"/admin/transcription_jobs/{job.pk}/retry/")
    assert "What went wrong last time" in page.text
    response = client.post(f"/admin/transcription_jobs/{job.pk}/retry/", follow=True)
    assert "“Waiting room” will be transcribed again." in response.text

    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 0 and job.error == ""
    assert services.job_run(job_id=job.pk, engine=FakeEngine()).status == JobStatus.DONE
    assert story.title not in client.get("/admin/transcription_jobs/").text


def test_others_cannot_see_the_problem_list(story, reporter, client):
    job = services.job_enqueue(story=story)
    services.job_run_until_finished(job_id=job.pk, engine=FakeEngine(always_fail=True))
    client.force_login(reporter)
    assert client.get("/admin/transcription_jobs/").status_code in (302, 403)
    assert client.post(f"/admin/transcription_jobs/{job.pk}/retry/").status_code in (302, 403, 404)
    assert TranscriptionJob.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_a_damaged_recording_needs_a_new_upload_with_a_plain_message(story):
    # The stored file is damaged after upload (disk fault): the real pipeline refuses it.
    media = story.media.get()
    with open(media.file.path, "wb") as handle:
        handle.write(b"%PDF-1.4 this is not a recording at all" * 10)
    job = services.job_enqueue(story=story)

    ended = services.job_run(job_id=job.pk, engine=FakeEngine())

    assert ended.status == JobStatus.NEEDS_REUPLOAD and ended.attempts == 1
    state, message = story_state(story)
    assert state == MediaState.NEEDS_REUPLOAD
    assert (
        message == ended.error == "This file is not a sound or video recording we can use. "
        "Please choose an audio or video file."
    )
    assert "Traceback" not in message


def test_a_written_story_is_split_into_segments_without_times(
    project, steward, django_capture_on_commit_callbacks
):
    text = "First I went to the office.\n\nThen I waited for an hour. Nobody came to see me."
    page = factories.story(project, steward, text=text, title="Written")

    with django_capture_on_commit_callbacks(execute=True):
        factories.services.story_approve(story=page, user=steward, wait=True)

    job = TranscriptionJob.objects.get(story=page)
    assert job.status == JobStatus.DONE and job.media is None and job.model == "text"
    segments = list(Segment.objects.filter(story=page).order_by("index"))
    assert [s.text for s in segments] == [
        "First I went to the office.",
        "Then I waited for an hour. Nobody came to see me.",
    ]
    assert all(s.start is None and s.end is None and s.words == [] for s in segments)
    assert story_state(page)[0] == MediaState.READY


def test_without_consent_to_transcribe_nothing_is_queued(
    project, reporter, django_capture_on_commit_callbacks
):
    page = factories.story(project, reporter, scopes={"record"})
    with django_capture_on_commit_callbacks(execute=True):
        factories.services.story_submit(story=page, user=reporter)
    assert not TranscriptionJob.objects.filter(story=page).exists()


def test_a_new_model_keeps_the_old_transcript_until_it_is_accepted(story, reporter, other_reporter):
    old = services.job_run(job_id=services.job_enqueue(story=story).pk, engine=FakeEngine())
    newer = services.job_enqueue(story=story, model="tiny.en")
    assert newer.pk != old.pk
    services.job_run(job_id=newer.pk, engine=FakeEngine())

    current = Transcript.objects.get(story=story, is_current=True)
    assert current.job_id == old.pk
    candidate = Transcript.objects.get(job=newer)
    with pytest.raises(PermissionDenied):
        services.transcript_accept(transcript=candidate, user=other_reporter)
    services.transcript_accept(transcript=candidate, user=reporter)
    assert Transcript.objects.get(story=story, is_current=True).job_id == newer.pk


# --- kill -9 for real ----------------------------------------------------------------------


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Gave up waiting for {what}")


def _job_row(database, job_id):
    with sqlite3.connect(database, timeout=20) as connection:
        return connection.execute(
            "SELECT status, progress, attempts FROM transcription_transcriptionjob WHERE id = ?",
            (job_id,),
        ).fetchone()


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_one_transcript_after_another_takes_over(
    processes, long_recording
):
    run = processes()
    made = run.script("setup", str(long_recording))
    job_id, story_id = made["job"], made["story"]
    database = run.var / "storyloom.sqlite3"

    worker = run.popen(
        "manage.py", "db_worker", "--queue-name", "transcription", "--no-startup-delay"
    )
    try:
        row = _wait_for(
            lambda: (r := _job_row(database, job_id)) and r[0] == "running" and r[1] > 0 and r,
            timeout=180,
            what="the worker to make progress",
        )
        assert row[1] < 100
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed = run.script("state", story_id)
    assert killed["jobs"][0]["status"] == "running" and killed["transcripts"] == 0

    # Its lease runs out; the sweep puts the job back on the queue; another worker does it.
    run.script("expire", job_id)
    swept = run.manage("transcribe", "--pending")
    assert f"Story {story_id}: waiting to start" in swept.stdout
    run.manage("db_worker", "--queue-name", "transcription", "--batch", "--no-startup-delay")
    # A second sweep and worker find nothing more to do.
    run.manage("transcribe", "--pending")
    run.manage("db_worker", "--queue-name", "transcription", "--batch", "--no-startup-delay")

    final = run.script("state", story_id)
    assert final["jobs"] == [{"status": "done", "attempts": 2, "progress": 100, "error": ""}]
    assert final["transcripts"] == 1
    assert final["indexes"] == list(range(len(final["indexes"]))) and len(final["indexes"]) > 20
    assert "not what your country can do for you" in final["text"].lower()  # "ask"/"asked"
    assert final["model_ids"][0].startswith("faster-whisper/tiny.en/")


def test_a_recording_without_consent_to_transcribe_says_so_instead_of_waiting(
    project, reporter, client, dummy_tasks, django_capture_on_commit_callbacks
):
    page = factories.story(project, reporter, scopes={"record", "analyse"})
    with django_capture_on_commit_callbacks(execute=True):
        factories.services.story_submit(story=page, user=reporter)

    assert not TranscriptionJob.objects.filter(story=page).exists()
    assert transcription_tasks(dummy_tasks) == []
    state, message = story_state(page)
    assert state == MediaState.NOT_TRANSCRIBED
    assert "has not agreed to have the recording turned into text" in message
    client.force_login(reporter)
    page_html = client.get(f"/stories/{page.pk}/status/").content.decode()
    assert "Not turned into text (no consent)" in page_html
