"""The reporter's capture form and the pages around it, through the Django test client with
real files, real media probing and real espeak-ng."""

import io
import re
import tempfile
import wave
from array import array

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from django.utils import timezone
from wagtail.models import WorkflowPage, WorkflowState

from stories.consent import SCRIPT_VERSION
from stories.models import Consent, MediaState, StoryKind, StoryMedia, StoryPage, Storyteller
from stories.uploads import too_large_message
from tests import factories

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 50


@pytest.fixture
def upload_tmp(monkeypatch, tmp_path):
    """Django streams uploads to `*.upload*` files in tempfile.gettempdir(): give each test
    its own, so that a file left behind is this test's and nobody else's."""
    folder = tmp_path / "uploads-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    before = {p.name for p in folder.iterdir()}

    def leftover_uploads():
        names = {p.name for p in folder.iterdir() if ".upload" in p.name} - before
        return sorted(names)

    return leftover_uploads


def stored_files(private_media):
    return sorted(p for p in private_media.rglob("*") if p.is_file())


def nothing_stored(private_media):
    return (
        not StoryPage.objects.exists()
        and not Storyteller.objects.exists()
        and not Consent.objects.exists()
        and not StoryMedia.objects.exists()
        and stored_files(private_media) == []
    )


def capture_url(project):
    return reverse("stories:capture", args=[project.slug])


def form_data(**overrides):
    data = {
        "title": "Waiting room",
        "storyteller_new": "Sam",
        "storyteller_role": "service_user",
        "language": "en",
        "recorded_on": timezone.localdate().isoformat(),
        "visibility": "team",
        "story_type": "upload",
        "consent_record": "on",
        "consent_transcribe": "on",
        "consent_method": "written",
        "script_version": SCRIPT_VERSION,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def audio_upload(fixtures_dir, name="formats/jfk.m4a"):
    path = fixtures_dir / "audio" / name
    return SimpleUploadedFile(path.name, path.read_bytes())


@pytest.fixture
def logged_in(client, reporter):
    client.force_login(reporter)
    return client


# --- Who may use the form -------------------------------------------------------------


def test_the_form_needs_a_login(client, project, private_media):
    response = client.get(capture_url(project))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    response = client.post(capture_url(project), form_data(story_type="type", text="Hello"))
    assert response.status_code == 302
    assert nothing_stored(private_media)


def test_a_reporter_of_another_project_gets_404_and_nothing_is_stored(
    client, project, other_project, reporter, fixtures_dir, private_media, upload_tmp
):
    client.force_login(reporter)
    assert client.get(capture_url(other_project)).status_code == 404

    data = form_data(media_file=audio_upload(fixtures_dir))
    response = client.post(capture_url(other_project), data)

    assert response.status_code == 404
    assert nothing_stored(private_media)
    assert upload_tmp() == []


@pytest.mark.parametrize("role", ["facilitator", "manager"])
def test_other_roles_in_the_project_cannot_record(client, project, role, private_media):
    client.force_login(factories.user_with_role(role, project, username=f"a-{role}"))
    assert client.get(capture_url(project)).status_code == 404
    response = client.post(capture_url(project), form_data(story_type="type", text="Hi"))
    assert response.status_code == 404
    assert nothing_stored(private_media)


def test_a_steward_may_record_in_any_project(client, project, steward):
    client.force_login(steward)
    response = client.get(capture_url(project))
    assert response.status_code == 200
    assert b"Record a story" in response.content


# --- Stories that go in ----------------------------------------------------------------


def test_an_audio_upload_becomes_a_story_waiting_for_the_steward(
    logged_in, project, reporter, fixtures_dir, upload_tmp
):
    data = form_data(media_file=audio_upload(fixtures_dir), location="Leeds", tags="housing, ")
    response = logged_in.post(capture_url(project), data, follow=True)

    story = StoryPage.objects.get()
    status_url = reverse("stories:story_status", args=[story.pk])
    assert response.redirect_chain == [(status_url, 302)]
    page = response.content.decode()
    assert "Thank you" in page
    assert "Waiting for the data steward" in page
    assert "Waiting for transcription" in page
    assert reverse("stories:recording", args=[story.media.get().pk]) in page
    assert "<audio" in page

    state = WorkflowState.objects.get(object_id=str(story.pk))
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert story.kind == StoryKind.AUDIO and story.reporter == reporter and not story.live
    assert story.storyteller.pseudonym == "Sam" and story.location == "Leeds"
    assert list(story.tags.names()) == ["housing"]
    media = story.media.get()
    assert media.content_type == "audio/mp4" and 10.5 < media.duration_seconds < 11.5
    assert media.original_name == "jfk.m4a"
    consent = story.current_consent
    assert consent.version == 1 and consent.scopes == {"record", "transcribe"}
    assert consent.script_version == SCRIPT_VERSION and consent.recorded_by == reporter
    assert upload_tmp() == []


def test_a_video_upload_makes_a_video_story_with_a_video_player(
    logged_in, project, fixtures_dir, upload_tmp
):
    data = form_data(media_file=audio_upload(fixtures_dir, "formats/jfk_video.mp4"))
    response = logged_in.post(capture_url(project), data, follow=True)

    story = StoryPage.objects.get()
    assert story.kind == StoryKind.VIDEO
    assert "<video" in response.content.decode()
    assert upload_tmp() == []


def test_a_recording_from_the_phone_recorder_without_script(
    logged_in, project, fixtures_dir, upload_tmp
):
    """With JavaScript off, "Record it now" is a file input that opens the phone's
    recorder; what it records arrives as `recording`."""
    data = form_data(story_type="record", recording=audio_upload(fixtures_dir, "formats/jfk.webm"))
    logged_in.post(capture_url(project), data)

    media = StoryPage.objects.get().media.get()
    assert media.content_type == "audio/webm" and 10.5 < media.duration_seconds < 11.5
    assert upload_tmp() == []


def test_a_typed_story(logged_in, project):
    text = "I waited two hours.\n\nNobody told me why."
    response = logged_in.post(
        capture_url(project), form_data(story_type="type", text=text), follow=True
    )

    story = StoryPage.objects.get()
    assert story.kind == StoryKind.TEXT and story.text_body == text
    # Announced like a recording, so that transcription splits it into segments.
    assert story.media_state == MediaState.WAITING and not story.media.exists()
    page = response.content.decode()
    assert "Waiting for the data steward" in page and "Nobody told me why." in page


def test_a_text_file_story(logged_in, project, upload_tmp):
    upload = SimpleUploadedFile("story.txt", "\ufeffThe key worker listened. ✓\n".encode())
    response = logged_in.post(
        capture_url(project), form_data(story_type="text_file", text_file=upload), follow=True
    )

    assert response.status_code == 200
    story = StoryPage.objects.get()
    assert story.kind == StoryKind.TEXT and story.text_body == "The key worker listened. ✓"
    assert upload_tmp() == []


def test_an_existing_storyteller_can_be_chosen(logged_in, project, reporter):
    kit = factories.storyteller(project, reporter, "Kit")
    logged_in.post(
        capture_url(project),
        form_data(story_type="type", text="Hello", storyteller=kit.pk, storyteller_new=""),
    )
    assert StoryPage.objects.get().storyteller == kit
    assert Storyteller.objects.count() == 1


def test_consent_evidence_is_kept_privately(logged_in, project, private_media):
    evidence = SimpleUploadedFile("signed form.pdf", PDF)
    logged_in.post(
        capture_url(project),
        form_data(story_type="type", text="Hello", consent_evidence=evidence),
    )
    consent = StoryPage.objects.get().current_consent
    assert consent.evidence_content_type == "application/pdf"
    assert consent.evidence_original_name == "signed form.pdf"
    assert len(stored_files(private_media)) == 1


# --- Bad input: a clear answer, nothing stored ------------------------------------------


def test_no_story_without_consent_to_record(logged_in, project, fixtures_dir, private_media):
    data = form_data(media_file=audio_upload(fixtures_dir), consent_record=None)
    response = logged_in.post(capture_url(project), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["consent_record"] == [
        "The storyteller must agree to the recording before a story can be kept."
    ]
    assert "There is a problem" in response.content.decode()
    assert nothing_stored(private_media)


def test_a_pdf_renamed_mp3_is_refused(logged_in, project, private_media, upload_tmp):
    fake = SimpleUploadedFile("story.mp3", PDF, content_type="audio/mpeg")
    response = logged_in.post(capture_url(project), form_data(media_file=fake))

    errors = response.context["form"].errors["media_file"]
    assert "not a sound or video recording" in errors[0]
    assert nothing_stored(private_media)
    assert upload_tmp() == []


def test_an_empty_file_is_refused(logged_in, project, private_media, upload_tmp):
    empty = SimpleUploadedFile("story.m4a", b"")
    response = logged_in.post(capture_url(project), form_data(media_file=empty))

    assert response.context["form"].errors["media_file"] == [
        "The file is empty. Please record or choose the file again."
    ]
    assert nothing_stored(private_media)
    assert upload_tmp() == []


def test_a_recording_must_be_given_when_recording_was_chosen(logged_in, project, private_media):
    response = logged_in.post(capture_url(project), form_data(story_type="record"))
    assert response.context["form"].errors["recording"] == [
        "Please record the story, or choose another way to add it."
    ]
    assert nothing_stored(private_media)


def test_bad_consent_evidence_is_reported_next_to_the_evidence(logged_in, project, private_media):
    evidence = SimpleUploadedFile("form.docx", b"PK\x03\x04 not a form we can keep" * 20)
    response = logged_in.post(
        capture_url(project),
        form_data(story_type="type", text="Hello", consent_evidence=evidence),
    )
    assert "not a sound or video" in response.context["form"].errors["consent_evidence"][0]
    assert nothing_stored(private_media)


def test_a_storyteller_from_someone_elses_list_cannot_be_chosen(
    logged_in, project, other_project, private_media
):
    stranger = factories.storyteller(
        other_project, factories.user_with_role("reporter", other_project, "olu"), "Jo"
    )
    response = logged_in.post(
        capture_url(project),
        form_data(story_type="type", text="Hello", storyteller=stranger.pk, storyteller_new=""),
    )
    assert "storyteller" in response.context["form"].errors
    assert not StoryPage.objects.exists()


def test_a_story_that_cannot_be_sent_to_the_steward_is_not_kept(
    logged_in, project, fixtures_dir, private_media
):
    WorkflowPage.objects.all().delete()  # nobody set up the approval workflow
    evidence = SimpleUploadedFile("form.pdf", PDF)
    data = form_data(media_file=audio_upload(fixtures_dir), consent_evidence=evidence)
    response = logged_in.post(capture_url(project), data)

    assert "No approval workflow is set up" in response.content.decode()
    assert nothing_stored(private_media)  # neither the rows nor the two files


def test_an_oversized_upload_gets_413_and_leaves_nothing(
    logged_in, project, fixtures_dir, private_media, upload_tmp, settings
):
    settings.STORYLOOM_MAX_UPLOAD_BYTES = 20_000  # jfk.m4a is about 90 kB
    response = logged_in.post(
        capture_url(project), form_data(media_file=audio_upload(fixtures_dir))
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert too_large_message() in page and "The limit is 19.5\xa0KB" in page
    assert capture_url(project) in page  # a way back to the form
    assert nothing_stored(private_media)
    assert upload_tmp() == []


def test_an_upload_announced_too_big_is_refused_before_it_is_read(
    logged_in, project, private_media, upload_tmp, settings
):
    settings.STORYLOOM_MAX_UPLOAD_BYTES = 1000
    big = SimpleUploadedFile("long.m4a", b"\0" * (1024 * 1024 + 5000))
    response = logged_in.post(
        capture_url(project),
        form_data(media_file=big),
        headers={"x-requested-with": "XMLHttpRequest"},
    )

    assert response.status_code == 413
    assert response.json() == {"message": too_large_message()}
    assert nothing_stored(private_media)
    assert upload_tmp() == []


class DroppedConnection(io.RawIOBase):
    """A request body whose sender goes away part-way, as a phone losing signal does:
    the server's read fails (gunicorn raises an OSError subclass)."""

    def __init__(self, data: bytes):
        self.data = io.BytesIO(data)

    def readable(self):
        return True

    def read(self, size=-1):
        chunk = self.data.read(size)
        if not chunk:
            raise OSError("Connection reset by peer")
        return chunk

    def readline(self, size=-1):
        line = self.data.readline(size)
        if not line:
            raise OSError("Connection reset by peer")
        return line


class CutShort(io.BytesIO):
    """A request body that simply ends before its announced length."""


def multipart_body(data):
    return encode_multipart(BOUNDARY, data), MULTIPART_CONTENT


@pytest.mark.parametrize("stream", [DroppedConnection, CutShort])
def test_an_interrupted_upload_leaves_no_story_and_no_file(
    logged_in, project, fixtures_dir, private_media, upload_tmp, stream
):
    # The file comes first so that the body stops in the middle of it.
    data = {"media_file": audio_upload(fixtures_dir), **form_data()}
    body, content_type = multipart_body(data)
    cut = body[: len(body) // 2]
    response = logged_in.generic(
        "POST",
        capture_url(project),
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": stream(cut)},
    )

    assert response.status_code in (200, 400)
    page = response.content.decode()
    if stream is DroppedConnection:
        assert response.status_code == 400 and "upload stopped before it finished" in page
    else:  # the half-file is dropped and the fields after it never came: the form says so
        assert "There is a problem" in page and "Please give the story a title." in page
    assert nothing_stored(private_media)
    assert upload_tmp() == []


# --- The form sent by capture.js ------------------------------------------------------


def test_a_story_sent_by_script_gets_json_with_where_to_go(logged_in, project):
    response = logged_in.post(
        capture_url(project),
        form_data(story_type="type", text="Hello"),
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    story = StoryPage.objects.get()
    assert response.json() == {"redirect": reverse("stories:story_status", args=[story.pk])}


def test_a_problem_sent_by_script_comes_back_as_errors_and_the_form(logged_in, project):
    response = logged_in.post(
        capture_url(project),
        form_data(story_type="type", text="Hello", title="", consent_record=None),
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["errors"]["title"] == ["Please give the story a title."]
    assert "agree to the recording" in answer["errors"]["consent_record"][0]
    assert answer["html"].startswith("<form") or "<form" in answer["html"]
    assert 'role="alert"' in answer["html"] and "Please give the story a title." in answer["html"]
    assert not StoryPage.objects.exists()


def test_the_form_shows_the_consent_script_and_its_choices(logged_in, project):
    page = logged_in.get(capture_url(project)).content.decode()
    assert "You can change your mind at any time." in page
    assert "Play my voice or video in workshops" in page
    assert reverse("stories:consent_script_audio") in page
    assert re.search(r'<input type="checkbox" name="consent_record"[^>]* required', page)
    assert f'data-max-bytes="{settings.STORYLOOM_MAX_UPLOAD_BYTES}"' in page
    assert f'value="{timezone.localdate().isoformat()}"' in page  # recorded on: today


# --- Seeing one's stories --------------------------------------------------------------


def test_my_stories_lists_only_my_own(client, project, reporter, other_reporter):
    mine = factories.story(project, reporter, title="Mine", text="Hello", submit=True)
    factories.story(project, reporter, title="Draft one", text="Hello")
    factories.story(project, other_reporter, title="Not mine", text="Hello", submit=True)
    client.force_login(reporter)

    page = client.get(reverse("stories:my_stories", args=[project.slug])).content.decode()

    assert "Mine" in page and "Draft one" in page and "Not mine" not in page
    assert "Waiting for the data steward" in page and "Draft" in page
    assert reverse("stories:story_status", args=[mine.pk]) in page


def test_my_stories_of_a_project_i_am_not_in_is_404(client, other_project, reporter):
    client.force_login(reporter)
    response = client.get(reverse("stories:my_stories", args=[other_project.slug]))
    assert response.status_code == 404


def test_an_approved_story_says_so(client, project, reporter, steward):
    from stories import services

    story = factories.story(project, reporter, text="Hello")
    services.story_approve(story=story, user=steward)
    client.force_login(reporter)
    page = client.get(reverse("stories:story_status", args=[story.pk])).content.decode()
    assert "Approved for analysis" in page


def test_the_status_page_is_404_for_another_reporter(client, project, reporter, other_reporter):
    story = factories.story(project, reporter, submit=True)
    client.force_login(other_reporter)
    assert client.get(reverse("stories:story_status", args=[story.pk])).status_code == 404
    client.force_login(reporter)
    page = client.get(reverse("stories:story_status", args=[story.pk])).content.decode()
    assert "Record my story" in page and "Share my words publicly" in page  # scopes: all


# --- Home and project pages ---------------------------------------------------------------


def test_the_home_page_asks_visitors_to_log_in(client, project):
    page = client.get("/").content.decode()
    assert f'href="{reverse("wagtailadmin_login")}?next=/"' in page
    assert project.title not in page
    assert 'lang="en-GB"' in page and 'name="viewport"' in page and 'href="#main"' in page


def test_the_home_page_offers_a_reporter_their_projects(client, project, other_project, reporter):
    client.force_login(reporter)
    page = client.get("/").content.decode()
    assert project.title in page and other_project.title not in page
    assert capture_url(project) in page
    assert reverse("stories:my_stories", args=[project.slug]) in page
    assert 'href="/admin/"' in page  # reporters use the admin to edit their stories


def test_a_manager_is_not_offered_the_capture_form(client, project, manager):
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert project.title in page and capture_url(project) not in page


def test_the_project_page_has_the_same_links_and_is_404_for_outsiders(
    client, project, other_project, reporter
):
    client.force_login(reporter)
    page = client.get(project.url).content.decode()
    assert capture_url(project) in page
    assert client.get(other_project.url).status_code == 404


# --- The consent script, spoken --------------------------------------------------------


def test_the_consent_script_is_spoken_as_a_real_wav(client, reporter):
    url = reverse("stories:consent_script_audio")
    assert client.get(url).status_code == 302  # login first

    client.force_login(reporter)
    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Cache-Control"].startswith("private")
    body = b"".join(response.streaming_content)
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    with wave.open(io.BytesIO(body)) as sound:
        seconds = sound.getnframes() / sound.getframerate()
        samples = array("h", sound.readframes(sound.getnframes()))
    assert seconds > 10  # seven sentences
    assert max(abs(s) for s in samples) > 3000  # speech, not silence
    cached = settings.VAR_DIR / "consent-audio" / f"{SCRIPT_VERSION}.wav"
    assert cached.read_bytes() == body
    assert b"".join(client.get(url).streaming_content) == body  # served from the cache


def test_the_form_is_protected_against_cross_site_posts(project, reporter, private_media):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    response = client.post(capture_url(project), form_data(story_type="type", text="Hello"))
    assert response.status_code == 403
    assert nothing_stored(private_media)
