"""Faults around a story: a transaction that rolls back, the task queue (Redis) down, the disk
or the database full, a job that always crashes, and what a crash leaves behind. The story
and its files are stored together or not at all, and the user is told plainly."""

import errno
import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import OperationalError, transaction

from stories import services as story_services
from stories import sweeper, uploads
from stories.capture_views import FOLLOW_UP_DELAYED_MESSAGE, SAVE_FAILED_MESSAGE
from stories.models import Consent, MediaState, StoryMedia, StoryPage, private_storage
from tests import factories
from tests.robustness import hostile
from tests.robustness.conftest import audio_upload, capture_url, form_data
from tests.stories.test_capture import nothing_stored, stored_files
from tests.test_task_backends import REDIS_URL
from tests.transcription.fakes import FakeEngine
from transcription import services as transcription
from transcription.models import JobStatus, TranscriptionJob

JSON = {"x-requested-with": "XMLHttpRequest"}
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there


def rq_settings(settings, url):
    settings.RQ_QUEUES = {
        name: {"URL": url, "DEFAULT_TIMEOUT": 60} for name in settings.TASK_QUEUES
    }
    settings.TASKS = {
        "default": {"BACKEND": "cms.task_backends.RQBackend", "QUEUES": settings.TASK_QUEUES}
    }


# --- A transaction that rolls back queues nothing ----------------------------------------------


def test_a_story_saved_in_a_transaction_that_rolls_back_queues_no_job(
    project,
    reporter,
    settings,
    redis_db,
    django_capture_on_commit_callbacks,
):
    """With Redis the queue is outside the database: a job queued before the rollback would
    run for a story that does not exist. The task goes in only after the commit."""
    rq_settings(settings, REDIS_URL)

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            factories.story(project, reporter, submit=True)
            raise RuntimeError("something later in the same request failed")
    assert redis_db.llen("rq:queue:transcription") == 0
    assert not StoryPage.objects.exists() and not TranscriptionJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        story = factories.story(project, reporter, title="Kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            transcription.job_enqueue(story=story)
            raise RuntimeError("rolled back")
    assert redis_db.llen("rq:queue:transcription") == 0
    assert not TranscriptionJob.objects.exists()

    # The same, committed, is queued: the test can see a job go in.
    with django_capture_on_commit_callbacks(execute=True):
        story_services.story_submit(story=story, user=reporter)
    assert redis_db.llen("rq:queue:transcription") == 1


# --- The task queue is down when a story comes in ----------------------------------------------


def rq_queues(settings, **urls):
    """Each queue on its own Redis address (default: the test Redis)."""
    settings.RQ_QUEUES = {
        name: {"URL": urls.get(name, REDIS_URL), "DEFAULT_TIMEOUT": 60}
        for name in settings.TASK_QUEUES
    }
    settings.TASKS = {
        "default": {"BACKEND": "cms.task_backends.RQBackend", "QUEUES": settings.TASK_QUEUES}
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_redis_down_the_story_is_kept_and_the_reporter_told_the_text_comes_later(
    logged_in, project, settings, fixtures_dir, private_media, upload_tmp
):
    """Redis is down for every queue. Wagtail's own upkeep on a save runs in the web process
    (cms.task_backends), so the save does not need Redis: the story and its file are kept,
    the reporter is told that the text comes a little later, and no temporary file is left."""
    rq_settings(settings, DEAD_REDIS)

    response = logged_in.post(
        capture_url(project), form_data(media_file=audio_upload(fixtures_dir)), follow=True
    )

    assert response.status_code == 200
    assert "The story has been saved and sent to the data steward" in response.text
    assert FOLLOW_UP_DELAYED_MESSAGE in response.text
    story = StoryPage.objects.get()
    assert stored_files(private_media) == [private_media / story.media.get().file.name]
    assert upload_tmp() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_when_queueing_fails_after_the_commit_the_story_is_kept_and_queued_later(
    client, settings, redis_db, fixtures_dir, private_media
):
    """The transcription queue's Redis is down when the story's job is queued (after the
    commit): the story and its file are kept, the reporter is told that the text comes a
    little later, and cron's `transcribe --pending` queues the job once Redis is back."""
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    client.force_login(reporter)
    rq_queues(settings, transcription=DEAD_REDIS)

    response = client.post(
        capture_url(project), form_data(media_file=audio_upload(fixtures_dir)), follow=True
    )

    assert response.status_code == 200
    assert "The story has been saved and sent to the data steward" in response.text
    assert FOLLOW_UP_DELAYED_MESSAGE in response.text
    story = StoryPage.objects.get()
    assert story.media_state == MediaState.WAITING
    media = story.media.get()
    assert stored_files(private_media) == [private_media / media.file.name]
    assert redis_db.llen("rq:queue:transcription") == 0

    rq_queues(settings)  # Redis is back
    call_command("transcribe", "--pending", stdout=StringIO())

    job = TranscriptionJob.objects.get(story=story)
    assert job.status == JobStatus.QUEUED
    assert redis_db.llen("rq:queue:transcription") == 1


# --- The disk or the database is full while a story is saved -------------------------------------


@pytest.fixture
def full_disk_after(monkeypatch):
    """Private storage that fails with "No space left on device" after `n` files."""

    def install(n):
        storage_class = type(private_storage())
        real_save = storage_class._save
        saved = []

        def save(self, name, content):
            if len(saved) >= n:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            saved.append(name)
            return real_save(self, name, content)

        monkeypatch.setattr(storage_class, "_save", save)
        return saved

    return install


@pytest.mark.parametrize("files_before_full", [0, 1], ids=["recording", "evidence"])
def test_a_full_disk_while_saving_keeps_neither_file_nor_row_and_says_so(
    logged_in, project, fixtures_dir, private_media, upload_tmp, full_disk_after, files_before_full
):
    saved = full_disk_after(files_before_full)
    data = form_data(
        media_file=audio_upload(fixtures_dir),
        consent_evidence=SimpleUploadedFile("signed.pdf", hostile.PDF),
    )

    response = logged_in.post(capture_url(project), data, headers=JSON)

    assert response.status_code == 503
    assert response.json()["errors"] == {"__all__": [SAVE_FAILED_MESSAGE]}
    assert "Nothing has been saved yet" in response.json()["html"]
    assert len(saved) == files_before_full  # the recording was stored, then removed again
    assert nothing_stored(private_media) and upload_tmp() == []


def test_a_database_error_while_saving_keeps_neither_file_nor_row(
    logged_in, project, fixtures_dir, private_media, monkeypatch
):
    def full(*args, **kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(Consent, "save", full)  # after the recording's file is stored

    response = logged_in.post(
        capture_url(project), form_data(media_file=audio_upload(fixtures_dir))
    )

    assert response.status_code == 503
    assert SAVE_FAILED_MESSAGE in response.text
    assert nothing_stored(private_media)


def test_a_full_disk_while_the_upload_arrives_is_answered_507_and_leaves_nothing(
    logged_in, project, fixtures_dir, private_media, upload_tmp, monkeypatch
):
    def no_room(self, raw_data, start):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(uploads.SafeTemporaryFileUploadHandler, "receive_data_chunk", no_room)

    response = logged_in.post(
        capture_url(project), form_data(media_file=audio_upload(fixtures_dir))
    )

    assert response.status_code == 507
    assert uploads.NO_ROOM_MESSAGE in response.text
    assert nothing_stored(private_media) and upload_tmp() == []


# --- A job that always crashes -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_poison_job_fails_after_its_tries_and_the_queue_keeps_flowing(
    settings, monkeypatch, client, private_media
):
    """A real db_worker: the poison job is tried three times and fails, visible to data
    stewards with its error; the job queued after it is done."""
    from tests.test_task_backends import run_db_worker

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": settings.TASK_QUEUES}
    }
    engines = {"poison": FakeEngine(always_fail=True), "good": FakeEngine()}
    monkeypatch.setattr(transcription, "_engine_for", lambda model: engines[model])
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    steward = factories.steward()
    poison = factories.story(project, reporter, title="Crashes every time")
    good = factories.story(project, reporter, title="Fine")

    poison_job = transcription.job_enqueue(story=poison, model="poison")
    good_job = transcription.job_enqueue(story=good, model="good")
    run_db_worker("transcription")

    poison_job.refresh_from_db()
    good_job.refresh_from_db()
    assert poison_job.status == JobStatus.FAILED and poison_job.attempts == 3
    assert engines["poison"].calls == 3
    assert good_job.status == JobStatus.DONE and good_job.attempts == 1
    assert StoryPage.objects.get(pk=poison.pk).media_state == MediaState.FAILED
    client.force_login(steward)
    listing = client.get("/admin/transcription_jobs/")
    assert "Crashes every time" in listing.text and "Try again" in listing.text


# --- The orphan sweeper --------------------------------------------------------------------------


def age(path, hours):
    then = time.time() - hours * 3600
    os.utime(path, (then, then), follow_symlinks=False)


@pytest.fixture
def leftovers(project, reporter, private_media, tmp_path):
    """A real story with its file, and what crashes leave: an old and a new stored file
    with no row, a row whose file went missing, and temporary files of ours and not."""
    story = factories.story(project, reporter)
    kept = story.media.get()
    age(private_media / kept.file.name, 48)
    storage = private_storage()
    old_orphan = storage.save(StoryMedia.generate_name("m4a"), ContentFile(b"x"))
    new_orphan = storage.save(StoryMedia.generate_name("m4a"), ContentFile(b"y"))
    age(private_media / old_orphan, 30)
    lost = factories.story(project, reporter, title="Lost file").media.get()
    storage.delete(lost.file.name)

    temp = tmp_path / "tmp"
    temp.mkdir()
    old_upload = temp / "storyloom-abc123.upload"
    django_upload = temp / "tmpq1w2e3.upload.m4a"
    new_upload = temp / "storyloom-def456.upload"
    decode_dir = temp / "storyloom-decode-xyz"
    test_dir = temp / "storyloom-test-keepme"
    someone_elses = temp / "report.pdf"
    for path in (old_upload, django_upload, new_upload, someone_elses):
        path.write_bytes(b"data")
    for folder in (decode_dir, test_dir):
        folder.mkdir()
        (folder / "part.s16").write_bytes(b"pcm")
        age(folder / "part.s16", 30)
    (temp / "storyloom-link").symlink_to(someone_elses)
    for path in (old_upload, django_upload, decode_dir, test_dir, someone_elses):
        age(path, 30)
    age(temp / "storyloom-link", 30)
    return {
        "kept": kept.file.name,
        "old_orphan": old_orphan,
        "new_orphan": new_orphan,
        "lost": lost,
        "temp": temp,
        "removable": [django_upload, old_upload, decode_dir],
        "stay": [new_upload, test_dir, someone_elses, temp / "storyloom-link"],
    }


def run_sweep(*args):
    out = StringIO()
    call_command("sweep_orphans", *args, stdout=out)
    return out.getvalue()


def test_the_sweeper_lists_and_by_default_removes_nothing(leftovers, private_media):
    before = stored_files(private_media)

    out = run_sweep("--temp-dir", str(leftovers["temp"]))

    assert f"Would remove private file with no record: {leftovers['old_orphan']}" in out
    assert leftovers["new_orphan"] not in out and leftovers["kept"] not in out
    for path in leftovers["removable"]:
        assert f"Would remove temporary leftover: {path}" in out
    for path in leftovers["stay"]:
        assert str(path) not in out
    lost = leftovers["lost"]
    assert f"Missing file: stories.StoryMedia {lost.pk} points at {lost.file.name}" in out
    assert "Run again with --delete to remove them." in out
    assert stored_files(private_media) == before
    assert all(path.exists() for path in leftovers["removable"])


def test_the_sweeper_removes_old_orphans_and_temporary_leftovers_only(leftovers, private_media):
    out = run_sweep("--delete", "--temp-dir", str(leftovers["temp"]))

    names = {str(p.relative_to(private_media)) for p in stored_files(private_media)}
    assert leftovers["old_orphan"] not in names
    assert {leftovers["kept"], leftovers["new_orphan"]} <= names
    assert not any(path.exists() for path in leftovers["removable"])
    assert all(path.exists() or path.is_symlink() for path in leftovers["stay"])
    assert StoryMedia.objects.filter(pk=leftovers["lost"].pk).exists()  # rows never touched
    assert "Removed 1 private file and 3 temporary leftovers; 1 missing." in out


def test_a_file_that_a_row_points_at_meanwhile_is_not_removed(leftovers, monkeypatch):
    found = sweeper.find_leftovers(grace=timedelta(hours=24), temp_dir=leftovers["temp"])
    assert found.orphan_files == [leftovers["old_orphan"]]
    # A row comes to point at the file between the listing and the removal.
    monkeypatch.setattr(sweeper, "find_leftovers", lambda **kwargs: found)
    StoryMedia.objects.filter(pk=leftovers["lost"].pk).update(file=leftovers["old_orphan"])

    report = sweeper.sweep(delete=True, temp_dir=leftovers["temp"])

    assert report.orphan_files == []
    assert private_storage().exists(leftovers["old_orphan"])


def test_the_sweeper_never_touches_what_may_still_be_uploading():
    with pytest.raises(Exception, match="at least 1 hour"):
        run_sweep("--older-than", "0.1")


def test_a_stored_file_left_by_a_killed_upload_is_found_by_the_sweeper(
    project, reporter, private_media, fixtures_dir, monkeypatch, tmp_path
):
    """A process killed between storing the file and committing its row (simulated: the
    row's save never returns) leaves a file; the sweep finds it once it is old enough."""

    class Killed(BaseException):  # like SIGKILL: no except clause of ours runs
        pass

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(StoryMedia, "save", killed)
    monkeypatch.setattr(story_services, "_private_files", _no_cleanup)
    with pytest.raises(Killed):
        factories.story(project, reporter)
    (left,) = stored_files(private_media)
    assert not StoryMedia.objects.exists()
    age(left, 25)

    report = sweeper.sweep(delete=True, temp_dir=tmp_path)

    assert report.orphan_files == [str(left.relative_to(private_media))]
    assert stored_files(private_media) == []


class _no_cleanup:
    """services._private_files as it behaves under SIGKILL: nothing after the kill runs."""

    def __enter__(self):
        return [], []

    def __exit__(self, *exc):
        return False


def test_the_daily_sweep_removes_old_orphans_and_says_how_many(leftovers, private_media, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(leftovers["temp"])

    summary = sweeper.sweep_daily(None)

    assert summary == (
        "removed 1 orphan files and 3 temporary leftovers; 1 records miss their file; "
        "0 could not be removed"
    )
    assert not private_storage().exists(leftovers["old_orphan"])
