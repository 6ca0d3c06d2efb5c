"""After transcription, the player gets a browser-playable copy without metadata (and a
still picture for a video); the original stays as it was."""

import pytest

from stories.media import probe_media
from stories.models import StoryMedia, private_storage
from tests import factories
from tests.transcription.fakes import FakeEngine
from transcription import services

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def run_job(story):
    job = services.job_enqueue(story=story)
    return services.job_run(job_id=job.pk, engine=FakeEngine())


def test_a_video_story_gets_a_playable_copy_and_a_still_picture(
    project, reporter, facilitator, client, private_media
):
    story = factories.story(project, reporter, audio="formats/jfk_video.webm")
    assert run_job(story).status == "done"

    playable = story.media.get(role=StoryMedia.Role.PLAYABLE)
    poster = story.media.get(role=StoryMedia.Role.POSTER)
    info = probe_media(private_media / playable.file.name)
    assert info.has_video and playable.content_type == "video/mp4"
    assert 10 < info.duration_seconds < 14
    assert (private_media / poster.file.name).read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG
    original = story.media.get(role=StoryMedia.Role.RECORDING)
    assert original.content_type == "video/webm"

    client.force_login(reporter)
    page = client.get(f"/stories/{story.pk}/status/").content.decode()
    assert f'src="/private/media/{playable.pk}/"' in page
    assert f'poster="/private/media/{poster.pk}/"' in page
    assert client.get(f"/private/media/{playable.pk}/").status_code == 200

    client.force_login(facilitator)
    assert client.get(f"/private/media/{playable.pk}/").status_code == 404


def test_an_audio_story_gets_one_playable_copy_even_when_transcribed_again(
    project, reporter, private_media, django_capture_on_commit_callbacks
):
    story = factories.story(project, reporter, audio="formats/jfk.ogg")
    run_job(story)
    first = story.media.get(role=StoryMedia.Role.PLAYABLE)
    assert first.content_type == "audio/mp4"
    assert not story.media.filter(role=StoryMedia.Role.POSTER).exists()

    job = services.job_enqueue(story=story, model="tiny.en")
    with django_capture_on_commit_callbacks(execute=True):
        services.job_run(job_id=job.pk, engine=FakeEngine())

    again = story.media.get(role=StoryMedia.Role.PLAYABLE)  # still exactly one
    assert again.pk != first.pk
    assert not private_storage().exists(first.file.name)
