"""Clips are captioned wherever they play (the clip page, the workshop pack and its clip
page): a video element, so that browsers show the captions, with a captions track whose
WebVTT holds the clip's words, redacted. The consent script has easy-read words, behind a
"Read it in easy words" disclosure, and both can be played aloud."""

import io
import re
import wave
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse

from stories.consent import EASY_READ, SCRIPT_VERSION
from tests.transcription.clipkit import jfk_story, segment
from transcription import clip_services, redaction_services
from workshops import services as workshop_services
from workshops.selectors import latest_version


class _Players(HTMLParser):
    """The page's audio and video elements, each with its <track> elements."""

    def __init__(self):
        super().__init__()
        self.players: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"audio", "video"}:
            self.players.append({"tag": tag, "src": dict(attrs).get("src"), "tracks": []})
        elif tag == "track" and self.players:
            self.players[-1]["tracks"].append(dict(attrs))


def players(html: str) -> list[dict]:
    parser = _Players()
    parser.feed(html)
    return parser.players


@pytest.fixture
def clip_world(project, reporter, facilitator, steward):
    """A recorded story (jfk.flac) with "country" hidden, a clip of its second line with real
    sound, and an approved workshop pack with that clip in it."""
    story = jfk_story(project, reporter)
    line = segment(story, 1)
    at = line.text.index("country")
    redaction_services.redaction_add(
        segment=line, start_char=at, end_char=at + len("country"), kind="place", user=reporter
    )
    clip = clip_services.clip_create(
        user=reporter, story=story, first_segment=line, last_segment=line
    )
    clip_services.clip_render(clip_id=clip.pk)
    clip.refresh_from_db()
    workshop = workshop_services.workshop_create(
        project=project, user=facilitator, title="Managers' workshop", audience=["managers"]
    )
    version = latest_version(workshop)
    version.body = [{"type": "clip", "value": {"clip": clip.pk, "minutes": 3, "notes": ""}}]
    version.save_revision(user=facilitator).publish(user=steward)
    workshop.refresh_from_db()
    return clip, workshop


def assert_captioned(client, html: str) -> str:
    """The page's one player is a video element with a default captions track whose WebVTT
    has cues; returns the captions."""
    [player] = players(html)
    assert player["tag"] == "video"  # browsers show captions only on a video element
    [track] = [t for t in player["tracks"] if t.get("kind") == "captions"]
    assert "default" in track and track.get("srclang") == "en" and track.get("label")
    response = client.get(track["src"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vtt")
    captions = response.content.decode()
    assert captions.startswith("WEBVTT")
    assert re.search(r"\d\d:\d\d\.\d{3} --> \d\d:\d\d:?\d*\.\d{3}", captions)
    return captions


@pytest.mark.slow
def test_clips_have_captions_of_their_redacted_words_wherever_they_play(
    client, clip_world, reporter, facilitator
):
    clip, workshop = clip_world
    assert clip.status == "done" and clip.file

    client.force_login(reporter)
    page = client.get(reverse("transcription:clip", args=[clip.pk])).content.decode()
    captions = assert_captioned(client, page)
    assert "ask not what your [place] can do for you" in captions
    assert "country" not in captions

    client.force_login(facilitator)
    for url in [
        reverse("workshops:detail", args=[workshop.pk]),  # the pack, in the admin
        workshop.url,  # the pack, as people read it
        reverse("workshops:clip", args=[workshop.pk, clip.pk]),  # the clip's own page
    ]:
        page = client.get(url)
        assert page.status_code == 200, url
        captions = assert_captioned(client, page.content.decode())
        assert "[place]" in captions and "country" not in captions, url


def test_the_capture_form_has_the_consent_script_in_easy_words(client, project, reporter):
    client.force_login(reporter)
    page = client.get(reverse("stories:capture", args=[project.slug])).content.decode()

    disclosure = re.search(r"<details class=\"easy-read\">(.*?)</details>", page, re.S)
    assert disclosure, "no easy-read disclosure"
    easy = disclosure.group(1)
    assert "<summary>Read it in easy words</summary>" in easy
    for line in EASY_READ:
        assert f"<li>{line}</li>" in easy
    easy_audio = reverse("stories:consent_script_audio") + "?words=easy"
    assert f'href="{easy_audio}"' in easy and "Play the easy words aloud" in easy
    assert f'value="{SCRIPT_VERSION}"' in page  # the consent records this wording


def _seconds(body: bytes) -> float:
    with wave.open(io.BytesIO(body)) as sound:
        return sound.getnframes() / sound.getframerate()


def test_the_easy_words_are_spoken_too(client, reporter):
    client.force_login(reporter)
    url = reverse("stories:consent_script_audio")

    easy = client.get(url, {"words": "easy"})
    script = client.get(url)

    assert easy.status_code == script.status_code == 200
    assert easy["Content-Type"] == "audio/wav"
    easy_body = b"".join(easy.streaming_content)
    script_body = b"".join(script.streaming_content)
    assert easy_body[:4] == b"RIFF" and easy_body != script_body
    assert _seconds(easy_body) > 10  # fifteen short sentences, spoken
    cached = settings.VAR_DIR / "consent-audio" / f"{SCRIPT_VERSION}-easy.wav"
    assert cached.read_bytes() == easy_body
