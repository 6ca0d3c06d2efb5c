"""Captions and transcript downloads: WebVTT, SRT and plain text, redacted, permission-checked;
and who may see a clip, its sound and its captions (another project's: 404)."""

import pytest
from django.urls import reverse

from tests import factories
from tests.transcription.clipkit import jfk_story, segment, span, written_story
from transcription import captions, clip_services
from transcription.models import Clip, ClipStatus, Segment
from transcription.redaction_services import redaction_add


def test_webvtt_and_srt_formats():
    cues = [
        captions.Cue(0.3, 3.0, "And so my fellow [name],", "Storyteller"),
        captions.Cue(3725.5, 3727.25, "Fish <&> chips\n\nthen --> more"),
    ]
    assert captions.webvtt(cues) == (
        "WEBVTT\n\n"
        "1\n00:00:00.300 --> 00:00:03.000\n<v Storyteller>And so my fellow [name],\n\n"
        "2\n01:02:05.500 --> 01:02:07.250\nFish &lt;&amp;&gt; chips then → more\n"
    )
    assert captions.srt(cues) == (
        "1\n00:00:00,300 --> 00:00:03,000\nStoryteller: And so my fellow [name],\n\n"
        "2\n01:02:05,500 --> 01:02:07,250\nFish <&> chips then → more\n"
    )
    assert captions.webvtt([]) == "WEBVTT\n"


def test_clip_cues_are_timed_from_the_clip_start_and_cut_to_its_length(db, project, reporter):
    story = jfk_story(project, reporter)
    segments = list(story.segments.order_by("index"))
    cues = captions.clip_cues(segments, start=5.0, end=9.0)
    assert [(c.start, c.end) for c in cues] == [(0.0, 2.4), (2.6, 4.0)]
    assert cues[0].text == "ask not what your country can do for you,"


@pytest.fixture
def redacted_story(project, reporter, django_capture_on_commit_callbacks):
    story = jfk_story(project, reporter)
    line = segment(story, 1)
    start, end = span(line, "country")  # the first "country" only
    redaction_add(segment=line, start_char=start, end_char=end, kind="place", user=reporter)
    line = segment(story, 0)
    start, end = span(line, "fellow Americans")
    redaction_add(segment=line, start_char=start, end_char=end, kind="name", user=reporter)
    Segment.objects.filter(pk=segment(story, 2).pk).update(speaker="storyteller")
    return story


@pytest.mark.parametrize(
    ("fmt", "content_type", "expected"),
    [
        (
            "vtt",
            "text/vtt",
            [
                "WEBVTT",
                "00:00:00.300 --> 00:00:03.000\nAnd so my [name],",
                "00:00:03.300 --> 00:00:07.400\nask not what your [place] can do for you,",
                "<v Storyteller>ask what you can do for your country.",
            ],
        ),
        (
            "srt",
            "application/x-subrip",
            [
                "1\n00:00:00,300 --> 00:00:03,000\nAnd so my [name],",
                "Storyteller: ask what you can do for your country.",
            ],
        ),
        (
            "txt",
            "text/plain",
            [
                "Waiting room\n\n[00:00:00] And so my [name],",
                "[00:00:03] ask not what your [place] can do for you,",
                "[00:00:07] Storyteller: ask what you can do for your country.",
            ],
        ),
    ],
)
def test_story_captions_and_transcript_are_redacted_downloads(
    redacted_story, facilitator, client, fmt, content_type, expected
):
    client.force_login(facilitator)
    response = client.get(reverse("transcription:story_captions", args=[redacted_story.pk, fmt]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"] == (
        f'attachment; filename="story-{redacted_story.pk}.{fmt}"'
    )
    body = response.content.decode()
    for part in expected:
        assert part in body
    assert "Americans" not in body and "fellow" not in body
    assert "your country can" not in body  # the redacted "country"; the last one stays


def test_a_written_story_has_a_transcript_but_no_captions(db, project, reporter, client):
    story = written_story(project, reporter)
    client.force_login(reporter)
    text = client.get(reverse("transcription:story_captions", args=[story.pk, "txt"]))
    assert text.content.decode() == "Written\n\nI waited two hours.\n\nNobody told me why.\n"
    vtt = client.get(reverse("transcription:story_captions", args=[story.pk, "vtt"]))
    assert vtt.status_code == 404 and "written, not recorded" in vtt.content.decode()
    odd = client.get(reverse("transcription:story_captions", args=[story.pk, "docx"]))
    assert odd.status_code == 404


def test_clip_captions_leave_out_the_redacted_words(redacted_story, facilitator, client):
    clip = clip_services.clip_create(
        user=facilitator, story=redacted_story, first_segment=segment(redacted_story, 0).pk
    )
    client.force_login(facilitator)
    vtt = client.get(reverse("transcription:clip_captions", args=[clip.pk])).content.decode()
    assert vtt == "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.700\nAnd so my [name],\n"
    assert clip.text == "And so my [name],"


# --- Another project's clip or story: 404 ---------------------------------------------------


@pytest.fixture
def clip(project, reporter, facilitator):
    story = jfk_story(project, reporter)
    made = clip_services.clip_create(user=facilitator, story=story, start=3.3, end=7.4)
    # As if rendered (the sound itself is made in test_clips and test_redacted_audio).
    Clip.objects.filter(pk=made.pk).update(status=ClipStatus.TEXT_ONLY)
    return made


def test_people_outside_the_project_get_404_for_clips_and_captions(
    clip, other_project, other_reporter, manager, facilitator, client
):
    outsider = factories.user_with_role("facilitator", other_project, username="olga")
    urls = [
        reverse("transcription:clip", args=[clip.pk]),
        reverse("transcription:clip_status", args=[clip.pk]),
        reverse("transcription:clip_media", args=[clip.pk]),
        reverse("transcription:clip_captions", args=[clip.pk]),
        reverse("transcription:story_captions", args=[clip.story_id, "vtt"]),
        reverse("transcription:story_captions", args=[clip.story_id, "srt"]),
        reverse("transcription:story_captions", args=[clip.story_id, "txt"]),
    ]
    for user in (outsider, other_reporter, manager):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user.username, url)
        assert client.get(reverse("transcription:clip_index")).context["clips"].count() == 0

    client.force_login(facilitator)  # the project's own facilitator sees all but the sound
    assert [client.get(url).status_code for url in urls] == [200, 200, 404, 200, 200, 200, 200]
    listing = client.get(reverse("transcription:clips", args=[clip.story.get_project().slug]))
    assert list(listing.context["clips"]) == [clip]

    client.logout()
    assert client.get(urls[0]).status_code == 302  # to the log-in page
