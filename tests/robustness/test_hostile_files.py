"""Files that are not what they say: documents and programs named as recordings, web pages
and drawings with scripts, pictures hiding a web page or claiming billions of pixels, and
recordings whose headers lie, that hold too many tracks, or that point at the server's own
files. Each is refused with a plain message, or ends as "needs re-upload"; nothing of the
server's comes back in any answer."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from wagtail.models import PageLogEntry

from stories.models import Consent, MediaState, StoryPage
from tests import factories
from tests.robustness import hostile
from tests.robustness.conftest import audio_upload, capture_url, form_data
from tests.stories.test_capture import nothing_stored
from tests.transcription.fakes import FakeEngine
from transcription import services as transcription
from transcription.models import JobStatus

NOT_A_RECORDING = "This file is not a sound or video recording we can use."
UNREADABLE = "We could not read this recording. It may be damaged or cut short."
NO_SOUND = "We could not play any sound from this recording."
TOO_MANY_TRACKS = "This file has too many tracks in it."

# What must never appear in an answer: the server's files and paths, and decoder chatter.
HOST_DATA = ("/etc/passwd", "root:", "127.0.0.1:9", "Traceback", "Errno", "av.error")


def assert_no_host_data(*texts):
    private_root = str(settings.PRIVATE_MEDIA_ROOT)
    for text in texts:
        for marker in (*HOST_DATA, private_root):
            assert marker not in text, f"{marker!r} leaked into {text[:300]!r}"


# --- At the story form ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("story.mp3", hostile.PDF, NOT_A_RECORDING),
        ("story.mp3", hostile.ELF, NOT_A_RECORDING),
        ("story.mp3", hostile.SVG_WITH_SCRIPT, NOT_A_RECORDING),
        ("story.m4a", hostile.HTML_DOCUMENT, NOT_A_RECORDING),
        ("story.mp3", hostile.playlist_disguised_as_mp3("file:///etc/passwd"), UNREADABLE),
        ("story.mp3", hostile.playlist_disguised_as_mp3("http://127.0.0.1:9/a.ts"), UNREADABLE),
        ("story.mkv", hostile.matroska_with_many_real_tracks(20), TOO_MANY_TRACKS),
        ("story.mkv", hostile.matroska_with_tracks(100_000), UNREADABLE),
    ],
    ids=[
        "pdf-as-mp3",
        "executable-as-mp3",
        "svg-with-script",
        "html-document",
        "playlist-to-etc-passwd",
        "playlist-to-a-url",
        "20-tracks",
        "100k-tracks",
    ],
)
def test_what_is_not_a_usable_recording_is_refused_plainly_at_the_form(
    logged_in, project, private_media, upload_tmp, name, content, message
):
    upload = SimpleUploadedFile(name, content, content_type="audio/mpeg")
    response = logged_in.post(capture_url(project), form_data(media_file=upload))

    assert response.status_code == 200
    errors = response.context["form"].errors["media_file"]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert_no_host_data(response.text)
    assert nothing_stored(private_media) and upload_tmp() == []


@pytest.mark.parametrize(
    "content", [hostile.HTML_DOCUMENT, hostile.SVG_WITH_SCRIPT, b"\xef\xbb\xbf  <html><p>x"]
)
def test_a_web_page_or_drawing_is_not_taken_as_a_written_story(
    logged_in, project, private_media, content
):
    upload = SimpleUploadedFile("story.txt", content, content_type="text/plain")
    response = logged_in.post(
        capture_url(project), form_data(story_type="text_file", text_file=upload)
    )

    assert response.context["form"].errors["text_file"] == [
        "This file is a web page or a drawing, not plain text. "
        "Please save the story as a .txt file and choose it again."
    ]
    assert nothing_stored(private_media)


def evidence_post(client, project, fixtures_dir, name, content):
    evidence = SimpleUploadedFile(name, content, content_type="image/png")
    data = form_data(media_file=audio_upload(fixtures_dir), consent_evidence=evidence)
    return client.post(capture_url(project), data)


@pytest.mark.parametrize(
    "content, message",
    [
        (hostile.png_bomb(), "This picture is far too large."),
        (hostile.png_bomb(20_000, 20_000), "This picture is far too large."),
        (hostile.animated_png(200), "This is a moving picture."),
        (hostile.png_html_polyglot(), "something other than a photo hidden in it"),
        (hostile.png(text={"Comment": "<script>alert(1)</script>"}), "something other than"),
    ],
    ids=["50k-by-50k", "20k-by-20k", "200-frames", "html-after-the-end", "script-in-a-comment"],
)
def test_a_photo_of_the_consent_form_is_checked_for_what_it_really_is(
    logged_in, project, private_media, fixtures_dir, content, message
):
    response = evidence_post(logged_in, project, fixtures_dir, "signed-form.png", content)

    assert message in response.context["form"].errors["consent_evidence"][0]
    assert nothing_stored(private_media)


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("form.png", hostile.png(64, 48), "image/png"),
        ("form.jpg", hostile.jpeg_with_gps(), "image/jpeg"),
    ],
)
def test_a_real_photo_of_the_form_is_kept_and_served_so_no_browser_runs_it(
    logged_in, project, fixtures_dir, name, content, content_type
):
    response = evidence_post(logged_in, project, fixtures_dir, name, content)

    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.evidence_content_type == content_type
    served = logged_in.get(reverse("stories:consent_evidence", args=[consent.pk]))
    assert b"".join(served.streaming_content) == content
    assert served["Content-Type"] == content_type
    assert served["Content-Security-Policy"].startswith("default-src 'none'")
    assert served["X-Content-Type-Options"] == "nosniff"


# --- At transcription: the recording was accepted, then turns out to be unusable -----------


@pytest.fixture
def story(project, reporter):
    return factories.story(project, reporter)


def replace_recording(story, content: bytes) -> None:
    """The stored file is not what was checked at upload (a fault on the disk, or a file
    that came in another way): the worker must find out by itself."""
    with open(story.media.get().file.path, "wb") as handle:
        handle.write(content)


def run_job(story):
    job = transcription.job_enqueue(story=story)
    return transcription.job_run(job_id=job.pk, engine=FakeEngine())


def assert_needs_reupload(client, reporter, story, ended, message):
    assert ended.status == JobStatus.NEEDS_REUPLOAD and ended.attempts == 1
    page = StoryPage.objects.get(pk=story.pk)
    assert page.media_state == MediaState.NEEDS_REUPLOAD
    assert page.media_message == ended.error and ended.error.startswith(message)
    client.force_login(reporter)
    status_page = client.get(reverse("stories:story_status", args=[story.pk]))
    assert "We need the recording again." in status_page.text
    assert ended.error.replace("'", "&#x27;") in status_page.text
    logged = [str(e.data) for e in PageLogEntry.objects.filter(page=story)]
    assert_no_host_data(ended.error, status_page.text, *logged)


def test_a_header_claiming_10_hours_ends_as_needs_re_upload(client, project, reporter):
    with_lie = factories.story(project, reporter)
    replace_recording(with_lie, hostile.flac_claiming(10 * 3600))

    ended = run_job(with_lie)

    assert_needs_reupload(
        client, reporter, with_lie, ended, "This recording is too long (10 hours)."
    )


def test_a_header_claiming_more_than_the_file_holds_ends_as_needs_re_upload(
    client, story, reporter
):
    replace_recording(story, hostile.flac_claiming(3600))  # says an hour; holds a second

    ended = run_job(story)

    assert_needs_reupload(
        client, reporter, story, ended, "This recording seems to be cut short or damaged."
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (hostile.playlist_disguised_as_mp3("file:///etc/passwd"), (UNREADABLE, NO_SOUND)),
        (hostile.playlist_disguised_as_mp3("http://127.0.0.1:9/a.ts"), (UNREADABLE, NO_SOUND)),
        (hostile.matroska_with_tracks(100_000), (UNREADABLE, NO_SOUND)),
        (hostile.matroska_with_many_real_tracks(20), TOO_MANY_TRACKS),
        (hostile.ELF, NOT_A_RECORDING),
    ],
    ids=["playlist-to-etc-passwd", "playlist-to-a-url", "100k-tracks", "20-tracks", "elf"],
)
def test_a_hostile_recording_found_by_the_worker_ends_as_needs_re_upload(
    client, story, reporter, content, message
):
    replace_recording(story, content)

    ended = run_job(story)

    assert_needs_reupload(client, reporter, story, ended, message)


def test_after_a_hostile_recording_the_worker_carries_on(story, reporter):
    replace_recording(story, hostile.matroska_with_tracks(100_000))
    assert run_job(story).status == JobStatus.NEEDS_REUPLOAD

    other = factories.story(story.get_project(), reporter, title="Next one")
    assert run_job(other).status == JobStatus.DONE


@pytest.mark.parametrize(
    "worker",
    [["stories.probe_worker"], ["transcription.decode_worker", "probe"]],
    ids=["upload-probe", "transcription-probe"],
)
def test_the_decoders_never_follow_a_playlist_to_another_file(tmp_path, fixtures_dir, worker):
    """Behind the magic-byte check, the child processes themselves open only the file they
    were given: FFmpeg on its own would follow this playlist and play the server's file."""
    import json
    import subprocess
    import sys

    target = fixtures_dir / "audio" / "formats" / "jfk.mp3"
    for where in (f"file://{target}", str(target)):
        path = hostile.write(tmp_path / "story.m3u8", hostile.playlist(where))
        module, *mode = worker
        done = subprocess.run(
            [sys.executable, "-m", module, *mode, str(path)],
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=60,
        )
        answer = json.loads(done.stdout)
        assert "error" in answer and "audio_streams" not in answer
        assert str(target) not in done.stdout and str(tmp_path) not in done.stdout
