"""manage.py transcribe [--story ID | --pending] [--model NAME|PATH] [--wait]"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stories.models import MediaState, StoryPage
from tests import factories
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

pytestmark = pytest.mark.django_db


def transcribe(*args):
    out, err = StringIO(), StringIO()
    call_command("transcribe", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_wait_transcribes_with_the_real_engine_and_shows_progress(project, reporter):
    story = factories.story(project, reporter)

    out, _ = transcribe("--story", str(story.pk), "--model", "tiny.en", "--wait")

    assert f"Story {story.pk}: 0%" in out
    assert f"Story {story.pk}: done, " in out and "faster-whisper/tiny.en/int8" in out
    job = TranscriptionJob.objects.get(story=story)
    assert job.status == JobStatus.DONE and job.model == "tiny.en" and job.attempts == 1
    transcript = Transcript.objects.get(story=story)
    assert transcript.is_current and transcript.language == "en"
    segments = list(Segment.objects.filter(story=story).order_by("index"))
    text = " ".join(s.text for s in segments).lower()
    assert "not what your country can do for you" in text  # tiny.en: "ask" or "asked"
    assert all(s.start is not None and s.end > s.start for s in segments)
    assert all(w["start"] <= w["end"] for s in segments for w in s.words)
    assert segments[-1].end == pytest.approx(11.0, abs=0.6)
    assert StoryPage.objects.get(pk=story.pk).media_state == MediaState.READY

    # Again: nothing is done twice.
    out, _ = transcribe("--story", str(story.pk), "--model", "tiny.en", "--wait")
    assert f"Story {story.pk}: done" in out
    assert Segment.objects.filter(story=story).count() == len(segments)


def test_without_wait_the_story_is_queued(project, reporter):
    story = factories.story(project, reporter)
    out, _ = transcribe("--story", str(story.pk), "--model", "tiny.en")
    job = TranscriptionJob.objects.get(story=story)
    assert out == f"Story {story.pk}: waiting to start (job {job.pk}, model tiny.en).\n"
    assert job.status == JobStatus.QUEUED


def test_pending_queues_only_the_stories_that_are_waiting(project, reporter, steward):
    waiting = factories.story(project, reporter, title="Waiting")
    StoryPage.objects.filter(pk=waiting.pk).update(media_state=MediaState.WAITING)
    factories.story(project, reporter, title="Draft")  # not sent yet: left alone
    written = factories.story(project, reporter, title="Written", text="One.\n\nTwo.")
    StoryPage.objects.filter(pk=written.pk).update(media_state=MediaState.WAITING)

    out, _ = transcribe("--pending")

    assert {j.story_id: j.model for j in TranscriptionJob.objects.all()} == {
        waiting.pk: "base",
        written.pk: "text",
    }
    assert f"Story {waiting.pk}: waiting to start" in out
    out, _ = transcribe("--pending", "--wait")  # the written story needs no engine
    assert f"Story {written.pk}: done, 2 segments (model text)." in out


def test_pending_with_nothing_waiting_says_so(db):
    assert transcribe("--pending")[0] == "No stories are waiting for transcription.\n"


def test_errors_are_clear(project, reporter):
    with pytest.raises(CommandError, match="There is no story with id 424242."):
        transcribe("--story", "424242")
    with pytest.raises(CommandError, match="one of the arguments --story --pending is required"):
        transcribe()
    no_consent = factories.story(project, reporter, scopes={"record"})
    with pytest.raises(CommandError, match="has not agreed to have the recording turned into"):
        transcribe("--story", str(no_consent.pk))


def test_a_failed_wait_exits_non_zero_with_the_reason(project, reporter):
    story = factories.story(project, reporter)
    with open(story.media.get().file.path, "wb") as handle:
        handle.write(b"%PDF-1.4" + b"x" * 500)

    with pytest.raises(CommandError, match="1 of 1 story could not be transcribed"):
        _, err = transcribe("--story", str(story.pk), "--wait")
    job = TranscriptionJob.objects.get(story=story)
    assert job.status == JobStatus.NEEDS_REUPLOAD


def test_import_stories_wait_runs_transcription_in_process(
    project, steward, tmp_path, django_capture_on_commit_callbacks
):
    (tmp_path / "note.txt").write_text("I waited for an hour.\n\nNobody came.")
    (tmp_path / "stories.csv").write_text(
        "file,title,storyteller,role,language,consent\nnote.txt,An hour,Sam,service_user,en,all\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_stories",
            str(tmp_path / "note.txt"),
            project=project.slug,
            metadata=str(tmp_path / "stories.csv"),
            user=steward.username,
            wait=True,
            stdout=StringIO(),
        )
    story = StoryPage.objects.get(title="An hour")
    assert story.media_state == MediaState.READY
    assert list(Segment.objects.filter(story=story).values_list("text", flat=True)) == [
        "I waited for an hour.",
        "Nobody came.",
    ]
