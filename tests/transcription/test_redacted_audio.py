"""A redacted word is silent in every copy of the recording people can play: the web-playable
copy and clips. Real speech (an LJ Speech recording), word times from the real tiny.en
engine, the real decode subprocess; the sound is measured, not assumed."""

import numpy as np
import pytest
from django.urls import reverse

from stories.models import StoryMedia
from stories.selectors import story_player_media
from tests import factories
from tests.transcription import speech
from transcription import clip_services, media, selectors, services
from transcription.models import ClipStatus, Segment
from transcription.redaction_services import redaction_add

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

tiny_engine = speech.tiny_engine  # fixture

SILENT = 1e-3  # RMS of full scale: -60 dBFS
RECORDING = "ljspeech/LJ001-0004.flac"  # 5.1 s: "produced the block books, which were…"


def samples_of(path, tmp_path) -> np.ndarray:
    """The recording as the transcript's timeline knows it: 16 kHz mono floats."""
    pcm = tmp_path / f"{path.stem}-{path.suffix[1:]}.s16"
    media.decode_to_file(path, pcm)
    samples = media.load_pcm(pcm)
    return media.to_float(samples[: len(samples)])


def rms(samples: np.ndarray, start: float, end: float) -> float:
    part = samples[int(start * 16_000) : int(end * 16_000)]
    assert len(part) > 0
    return float(np.sqrt(np.mean(part.astype(np.float64) ** 2)))


def longest_word_in_the_middle(story, duration):
    """The longest word at least 0.8 s from either end, and its segment."""
    found = []
    for segment in Segment.objects.filter(story=story, transcript__is_current=True):
        for word in segment.words:
            if word["start"] > 0.8 and word["end"] < duration - 0.8:
                found.append((word["end"] - word["start"], segment, word))
    _, segment, word = max(found, key=lambda f: f[0])
    return segment, word


def test_a_redacted_word_is_silent_in_the_playable_copy_and_in_a_clip(
    project,
    reporter,
    steward,
    client,
    tiny_engine,
    tmp_path,
    private_media,
    django_capture_on_commit_callbacks,
):
    story = factories.story(project, reporter, audio=RECORDING)
    job = services.job_enqueue(story=story)
    assert services.job_run(job_id=job.pk, engine=tiny_engine).status == "done"
    original = story.media.get(role=StoryMedia.Role.RECORDING)
    before = story.media.get(role=StoryMedia.Role.PLAYABLE)
    heard = samples_of(private_media / original.file.name, tmp_path)
    duration = len(heard) / 16_000
    segment, word = longest_word_in_the_middle(story, duration)
    token = word["text"].strip()
    at = segment.text.index(token)
    assert word["end"] - word["start"] > 0.25, word  # long enough to measure

    with django_capture_on_commit_callbacks(execute=True):
        redaction_add(
            segment=segment, start_char=at, end_char=at + len(token), kind="name", user=reporter
        )

    # Until the silenced copy is made, the reporter is played nothing (not the old copy,
    # not the original) and told it is being prepared; a data steward still hears both.
    assert story_player_media(user=reporter, story=story) == (None, None)
    assert selectors.playable_being_prepared(user=reporter, story=story)
    client.force_login(reporter)
    status_page = client.get(reverse("stories:story_status", args=[story.pk])).content.decode()
    assert "being prepared again with the hidden words made silent" in status_page
    assert client.get(reverse("stories:recording", args=[before.pk])).status_code == 404
    assert client.get(reverse("stories:recording", args=[original.pk])).status_code == 404
    client.force_login(steward)
    assert client.get(reverse("stories:recording", args=[original.pk])).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        remade = clip_services.story_playable_rerender(story_id=story.pk)

    assert story_player_media(user=reporter, story=story)[0] == remade
    assert not selectors.playable_being_prepared(user=reporter, story=story)
    assert not StoryMedia.objects.filter(pk=before.pk).exists()
    playable = samples_of(private_media / remade.file.name, tmp_path)
    start, end = word["start"], word["end"]
    assert rms(playable, start, end) < SILENT
    assert rms(heard, start, end) > 20 * SILENT  # there was speech there
    for a, b in [(0.1, start - 0.15), (end + 0.15, duration - 0.1)]:
        assert 0.5 < rms(playable, a, b) / rms(heard, a, b) < 2.0  # the rest as it was

    # A clip around the word: the word is silent there too, and absent from its words.
    clip_start, clip_end = max(0.0, start - 1.0), min(duration, end + 1.0)
    clip = clip_services.clip_create(user=reporter, story=story, start=clip_start, end=clip_end)
    assert token not in clip.text and "[name]" in clip.text
    assert token not in clip.captions and "[name]" in clip.captions
    with django_capture_on_commit_callbacks(execute=True):
        clip = clip_services.clip_render(clip_id=clip.pk, worker_id="test")
    assert clip.status == ClipStatus.DONE

    client.force_login(reporter)
    response = client.get(reverse("transcription:clip_media", args=[clip.pk]))
    assert response.status_code == 200
    played = tmp_path / "clip.m4a"
    played.write_bytes(b"".join(response.streaming_content))
    cut = samples_of(played, tmp_path)
    assert abs(len(cut) / 16_000 - (clip_end - clip_start)) < 0.1
    offset = clip_start  # clip time = story time - clip start
    assert rms(cut, start - offset, end - offset) < SILENT
    a, b = 0.05, start - offset - 0.15
    assert 0.5 < rms(cut, a, b) / rms(heard, a + offset, b + offset) < 2.0
    a, b = end - offset + 0.15, clip_end - offset - 0.05
    assert 0.5 < rms(cut, a, b) / rms(heard, a + offset, b + offset) < 2.0

    # Another redaction: the clip is held back until it is made again.
    other = next(w for w in segment.words if w is not word and w["text"].strip() != token)
    at = segment.text.index(other["text"].strip())
    with django_capture_on_commit_callbacks(execute=True):
        redaction_add(
            segment=segment,
            start_char=at,
            end_char=at + len(other["text"].strip()),
            kind="place",
            user=reporter,
        )
    clip.refresh_from_db()
    assert clip.status == ClipStatus.QUEUED and "[place]" in clip.text
    assert client.get(reverse("transcription:clip_media", args=[clip.pk])).status_code == 404
