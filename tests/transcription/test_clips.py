"""Clips: who may cut them, what is refused (with a plain message), consent (quote, voice),
the clip page and its sound, and a render interrupted by a worker restart."""

import io
from datetime import timedelta

import av
import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from stories.models import private_storage
from tests import factories
from tests.transcription.clipkit import add_transcript, jfk_story, segment, span, written_story
from transcription import clip_services, selectors
from transcription.models import Clip, ClipStatus
from transcription.redaction_services import redaction_add

pytestmark = pytest.mark.django_db

ALL_BUT_QUOTE = {"record", "transcribe", "analyse", "voice", "publish"}
NO_VOICE = {"record", "transcribe", "analyse", "quote", "publish"}


def refused(**kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        clip_services.clip_create(**kwargs)
    return " ".join(caught.value.messages)


# --- Making a clip ------------------------------------------------------------------------


def test_a_facilitator_cuts_a_clip_of_lines_with_the_redacted_words(
    project, reporter, facilitator, django_capture_on_commit_callbacks
):
    story = jfk_story(project, reporter)
    first = segment(story, 0)
    start, end = span(first, "Americans")
    with django_capture_on_commit_callbacks(execute=False):
        redaction_add(segment=first, start_char=start, end_char=end, kind="place", user=reporter)

    clip = clip_services.clip_create(
        user=facilitator, story=story, first_segment=first.pk, last_segment=segment(story, 1).pk
    )

    assert clip.status == ClipStatus.QUEUED  # its sound is made by a task
    assert (clip.start, clip.end) == (0.3, 7.4)
    assert clip.text == "And so my fellow [place], ask not what your country can do for you,"
    assert "Americans" not in clip.captions and "[place]" in clip.captions
    assert clip.captions.startswith("WEBVTT")
    assert clip.title == "And so my fellow [place], ask not what…"
    assert list(clip.segments.order_by("index").values_list("index", flat=True)) == [0, 1]


def test_lines_chosen_from_the_bottom_up_make_the_same_clip(project, reporter, steward):
    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(
        user=steward,
        story=story,
        first_segment=segment(story, 2),
        last_segment=segment(story, 1),
        title="  Ask  ",
    )
    assert (clip.start, clip.end, clip.title) == (3.3, 10.8, "Ask")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (2.0, 2.0, "The clip has no length"),
        (5.0, 2.0, "The end of the clip comes before its start"),
        (2.0, 20.0, "The clip ends after the story does: the story is 11 seconds long"),
        (-1.0, 2.0, "The clip cannot start before the story does"),
        ("two", 4.0, "Please give the start and the end of the clip in seconds"),
        (None, 4.0, "Please choose the lines, or the start and end, of the clip"),
    ],
)
def test_bad_times_are_refused_with_a_plain_message(project, reporter, start, end, message):
    story = jfk_story(project, reporter)
    assert message in refused(user=reporter, story=story, start=start, end=end)
    assert not Clip.objects.exists()


def test_a_time_range_takes_the_lines_said_in_it(project, reporter):
    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(user=reporter, story=story, start="4", end="9.5")
    assert (clip.start, clip.end) == (4.0, 9.5)
    assert clip.text.startswith("ask not what") and clip.text.endswith("your country.")
    # Captions are timed from the clip's start, cut to its length.
    assert "00:00:00.000 --> 00:00:03.400" in clip.captions
    assert "00:00:03.600 --> 00:00:05.500" in clip.captions


def test_lines_from_another_story_or_an_old_transcript_are_refused(project, reporter):
    story = jfk_story(project, reporter)
    other = jfk_story(project, reporter, title="Another")
    old = add_transcript(story, [(0.0, 2.0, "An older try")], current=False, model="old")

    message = "These lines are not from this story's transcript"
    assert message in refused(user=reporter, story=story, first_segment=segment(other, 0).pk)
    assert message in refused(user=reporter, story=story, first_segment=old.segments.get().pk)
    assert message in refused(user=reporter, story=story, first_segment="0; DROP")


def test_without_quote_consent_no_clip_is_made(project, reporter, steward):
    story = jfk_story(project, reporter, scopes=ALL_BUT_QUOTE)
    message = refused(user=steward, story=story, first_segment=segment(story, 0).pk)
    assert "this storyteller did not agree to be quoted in workshops" in message.lower()
    assert not Clip.objects.exists()


def test_without_voice_consent_a_clip_is_words_and_captions_only(
    project, reporter, facilitator, client
):
    story = jfk_story(project, reporter, scopes=NO_VOICE)
    clip = clip_services.clip_create(user=facilitator, story=story, first_segment=segment(story, 1))

    assert clip.status == ClipStatus.TEXT_ONLY
    assert clip.text == "ask not what your country can do for you,"
    assert "ask not what your country" in clip.captions
    assert not clip.file

    client.force_login(facilitator)
    page = client.get(reverse("transcription:clip", args=[clip.pk])).content.decode()
    assert "ask not what your country can do for you," in page
    assert "<video" not in page and "not to their voice being played" in page
    assert client.get(reverse("transcription:clip_media", args=[clip.pk])).status_code == 404
    captions = client.get(reverse("transcription:clip_captions", args=[clip.pk]))
    assert captions.status_code == 200 and captions["Content-Type"].startswith("text/vtt")


def test_a_written_story_gives_a_text_quote(project, reporter, facilitator):
    story = written_story(project, reporter)
    clip = clip_services.clip_create(
        user=facilitator,
        story=story,
        first_segment=segment(story, 0).pk,
        last_segment=segment(story, 1).pk,
    )
    assert clip.status == ClipStatus.TEXT_ONLY
    assert clip.text == "I waited two hours. Nobody told me why."
    assert (clip.start, clip.end, clip.captions) == (None, None, "")
    assert "written, not recorded" in refused(user=facilitator, story=story, start=0, end=2)


def test_who_may_cut_clips(project, other_project, reporter, other_reporter, manager, steward):
    story = jfk_story(project, reporter)
    first = segment(story, 0).pk
    assert clip_services.clip_create(user=reporter, story=story, first_segment=first)
    assert clip_services.clip_create(user=steward, story=story, first_segment=first)
    outsider = factories.user_with_role("facilitator", other_project, username="olga")
    for user in (other_reporter, manager, outsider):  # none of them may see the story
        with pytest.raises(Http404):
            clip_services.clip_create(user=user, story=story, first_segment=first)
    assert Clip.objects.count() == 2


def test_make_a_clip_form_goes_to_the_clip_page_or_back_with_the_reason(
    project, reporter, facilitator, client
):
    story = jfk_story(project, reporter)
    client.force_login(facilitator)
    url = reverse("transcription:clip_create")

    made = client.post(
        url, {"story_id": story.pk, "first_segment": segment(story, 0).pk, "title": "Fellow"}
    )
    clip = Clip.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/clips/{clip.pk}/"
    page = client.get(made["Location"]).content.decode()
    assert "Fellow" in page and "The clip is being prepared" in page
    assert "data-clip-progress" in page

    bad = client.post(
        url,
        {"story_id": story.pk, "start": "3", "end": "3", "next": "/admin/"},
        follow=True,
    )
    assert bad.redirect_chain[0][0] == "/admin/"
    assert "The clip has no length" in bad.content.decode()
    as_json = client.post(
        url, {"story_id": story.pk, "start": "3", "end": "1"}, HTTP_ACCEPT="application/json"
    )
    assert as_json.status_code == 400
    assert "comes before its start" in as_json.json()["error"]
    # Someone else's story: 404, whether or not the story exists.
    assert client.post(url, {"story_id": 999999, "first_segment": 1}).status_code == 404
    assert client.get(url).status_code == 405


def test_the_clip_page_polls_its_progress(project, reporter, client):
    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(user=reporter, story=story, first_segment=segment(story, 0))
    Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.RENDERING, progress=40)
    client.force_login(reporter)
    status = client.get(reverse("transcription:clip_status", args=[clip.pk])).json()
    assert status["status"] == "rendering" and status["percent"] == 40
    assert status["finished"] is False and status["playable"] is False


def test_withdrawing_quote_consent_stops_the_clip_being_used(
    project, reporter, facilitator, steward, client
):
    from stories.services import consent_withdraw

    story = jfk_story(project, reporter, scopes=NO_VOICE)
    clip = clip_services.clip_create(user=facilitator, story=story, first_segment=segment(story, 0))
    consent_withdraw(story=story, user=steward, keep={"record", "transcribe"})

    assert not selectors.clips_visible_to(user=facilitator).exists()
    client.force_login(facilitator)
    assert client.get(reverse("transcription:clip", args=[clip.pk])).status_code == 404
    client.force_login(reporter)  # the reporter still sees it, and why it cannot be used
    page = client.get(reverse("transcription:clip", args=[clip.pk])).content.decode()
    assert "no longer agrees to be quoted" in page


# --- Rendering, and a render interrupted by a worker restart --------------------------------


@pytest.mark.slow
def test_an_interrupted_render_resumes_and_never_serves_a_partial_file(
    project, reporter, client, django_capture_on_commit_callbacks
):
    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(user=reporter, story=story, start=3.3, end=7.4)
    # A worker took the clip and died: its lease ran out, it left a partial file behind in
    # its work folder and (stopped while copying) a half-written file in storage.
    assert clip_services.clip_claim(clip_id=clip.pk, worker_id="dead-worker")
    Clip.objects.filter(pk=clip.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    leftover = clip_services.clip_work_dir(clip.pk) / "dead" / "playable.m4a"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"\x00\x00\x00\x18ftypM4A half")
    folder = clip_services.clip_storage_folder(clip)
    private_storage().save(f"{folder}/half.m4a", io.BytesIO(b"half"))

    client.force_login(reporter)
    media_url = reverse("transcription:clip_media", args=[clip.pk])
    assert client.get(media_url).status_code == 404
    page = client.get(reverse("transcription:clip", args=[clip.pk])).content.decode()
    assert "<video" not in page and "Being made" in page

    assert clip_services.clip_requeue_expired() == [clip.pk]
    with django_capture_on_commit_callbacks(execute=True):
        done = clip_services.clip_render(clip_id=clip.pk, worker_id="new-worker")

    assert done.status == ClipStatus.DONE and done.attempts == 2 and done.progress == 100
    assert not leftover.exists()
    _dirs, files = private_storage().listdir(folder)
    assert [f"{folder}/{name}" for name in files] == [done.file.name]  # one file
    whole = client.get(media_url)
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/mp4"
    body = b"".join(whole.streaming_content)
    path = clip_services.clip_work_dir(clip.pk).parent / "check.m4a"
    path.write_bytes(body)
    with av.open(str(path)) as played:
        assert 3.9 < played.duration / 1_000_000 < 4.4  # 4.1 s of the story
    part = client.get(media_url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part["Content-Range"].endswith(f"/{len(body)}")
    page = client.get(reverse("transcription:clip", args=[clip.pk])).content.decode()
    assert '<track kind="captions"' in page and f'src="{media_url}"' in page

    # Run again (a duplicate task): nothing to do, still one file.
    with django_capture_on_commit_callbacks(execute=True):
        again = clip_services.clip_render(clip_id=clip.pk, worker_id="third-worker")
    assert again.file.name == done.file.name and again.attempts == 2


def test_a_worker_whose_lease_was_taken_cannot_store_its_clip(project, reporter):
    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(user=reporter, story=story, start=3.3, end=7.4)
    assert clip_services.clip_claim(clip_id=clip.pk, worker_id="slow")
    assert clip_services.clip_claim(clip_id=clip.pk, worker_id="eager") is None  # lease held
    # The story's redactions changed meanwhile: the clip is queued again.
    clip_services.redacted_media_refresh(story_id=story.pk)
    assert not clip_services.clip_heartbeat(clip_id=clip.pk, worker_id="slow")
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED


def test_a_clip_that_keeps_failing_says_so_and_can_be_tried_again(project, reporter, client):
    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(user=reporter, story=story, start=3.3, end=7.4)
    story.media.all().delete()  # the recording is gone
    failed = clip_services.clip_render(clip_id=clip.pk, worker_id="w")
    assert failed.status == ClipStatus.FAILED
    assert "recording is missing" in failed.error

    client.force_login(reporter)
    page = client.get(reverse("transcription:clip", args=[clip.pk])).content.decode()
    assert "Could not be made" in page and "Try again" in page
    client.post(reverse("transcription:clip_retry", args=[clip.pk]))
    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.QUEUED


def test_erasure_removes_clip_sound_or_whole_clips(project, reporter):
    from stories.erasure import ErasureScope

    story = jfk_story(project, reporter)
    clip = clip_services.clip_create(user=reporter, story=story, start=3.3, end=7.4)
    name = private_storage().save(
        f"{clip_services.clip_storage_folder(clip)}/sound.m4a", io.BytesIO(b"sound")
    )
    Clip.objects.filter(pk=clip.pk).update(
        file=name, status=ClipStatus.DONE, rendered_at=timezone.now()
    )

    voice = ErasureScope(story_id=story.pk, full=False, removed=frozenset({"voice"}))
    assert clip_services.clips_erasure_step(voice) == {"clip sound": 1}
    clip.refresh_from_db()
    assert clip.status == ClipStatus.TEXT_ONLY and not clip.file and clip.text
    assert not private_storage().exists(name)

    quote = ErasureScope(story_id=story.pk, full=False, removed=frozenset({"quote"}))
    assert clip_services.clips_erasure_step(quote) == {"clips": 1, "clip files": 0}
    assert not Clip.objects.exists()
    assert clip_services.clips_erasure_step(quote) == {"clips": 0, "clip files": 0}
