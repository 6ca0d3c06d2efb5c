"""What reporters see while a story is transcribed: live progress, failures, the transcript."""

import pytest
from django.utils import timezone

from tests import factories
from tests.transcription.fakes import FakeEngine
from transcription import services
from transcription.models import TranscriptionJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(project, reporter):
    return factories.story(project, reporter)


@pytest.fixture
def running(story):
    """A job a worker is 40 % of the way through, started a minute ago."""
    job = services.job_enqueue(story=story)
    services.job_claim(job_id=job.pk, worker_id="w1")
    TranscriptionJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timezone.timedelta(seconds=60)
    )
    services.job_heartbeat(job_id=job.pk, worker_id="w1", progress=40)
    return job


def progress_url(story):
    return f"/stories/{story.pk}/transcription/progress/"


def test_the_owner_gets_the_progress_as_json(client, reporter, story, running):
    client.force_login(reporter)
    response = client.get(progress_url(story))

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "running" and data["percent"] == 40
    assert data["message"] == "40% done." and data["finished"] is False
    finish = timezone.datetime.fromisoformat(data["estimated_finish"])
    # 40 % took a minute, so the rest takes about a minute and a half.
    assert 80 <= (finish - timezone.now()).total_seconds() <= 95
    assert data["estimated_finish_text"] == "It should be ready in about 2 minutes."
    assert "no-cache" in response["Cache-Control"]


def test_nobody_else_learns_anything_about_the_progress(
    client, story, running, other_reporter, other_project
):
    assert client.get(progress_url(story)).status_code == 404  # anonymous
    client.force_login(other_reporter)
    assert client.get(progress_url(story)).status_code == 404
    elsewhere = factories.user_with_role("reporter", other_project, username="olga")
    client.force_login(elsewhere)
    assert client.get(progress_url(story)).status_code == 404
    assert client.get("/stories/999999/transcription/progress/").status_code == 404


def test_the_status_page_shows_a_live_progress_bar(client, reporter, story, running):
    client.force_login(reporter)
    page = client.get(f"/stories/{story.pk}/status/").text

    assert '<progress id="transcription-progress-' in page and 'value="40"' in page
    assert "40% done." in page
    assert "It should be ready in about 2 minutes." in page
    assert f'data-transcription-progress="{progress_url(story)}"' in page
    assert "transcription/progress" in page and "progress.js" in page


def test_my_stories_shows_the_progress_of_each_story(client, reporter, project, story, running):
    client.force_login(reporter)
    page = client.get(f"/my-stories/{project.slug}/").text
    assert 'value="40"' in page and "40% done." in page


def test_the_status_page_shows_the_time_coded_transcript(client, reporter, story):
    services.job_run(job_id=services.job_enqueue(story=story).pk, engine=FakeEngine())
    client.force_login(reporter)
    page = client.get(f"/stories/{story.pk}/status/").text

    assert "The transcript is ready." in page and "<progress" not in page
    assert "0.0–5.5 s" in page and "And so my fellow Americans" in page
    assert page.count('<strong class="tag transcript__flag">Check this</strong>') == 1
    assert "transcript__segment--flagged" in page
    response = client.get(progress_url(story))
    assert response.json()["percent"] == 100 and response.json()["finished"] is True


def test_a_failure_is_explained_with_what_to_do(client, reporter, story):
    media = story.media.get()
    with open(media.file.path, "wb") as handle:
        handle.write(b"%PDF-1.4 not a recording" * 20)
    services.job_run(job_id=services.job_enqueue(story=story).pk, engine=FakeEngine())
    client.force_login(reporter)
    page = client.get(f"/stories/{story.pk}/status/").text

    assert "We need the recording again." in page
    assert "This file is not a sound or video recording we can use." in page
    assert "Please record the story again, or upload the file again." in page
    assert 'role="alert"' in page


def test_a_steward_only_failure_hides_the_technical_detail_from_the_reporter(
    client, reporter, story
):
    job = services.job_enqueue(story=story)
    services.job_run_until_finished(job_id=job.pk, engine=FakeEngine(always_fail=True))
    client.force_login(reporter)
    page = client.get(f"/stories/{story.pk}/status/").text
    data = client.get(progress_url(story)).json()

    assert "The recording could not be turned into text." in page
    assert "A data steward can see the problem and try again." in page
    assert "model file is missing" not in page and "model file" not in data["message"]
    assert data["status"] == "failed" and data["finished"] is True
