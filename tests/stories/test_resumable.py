"""Resumable uploads (the tus protocol, served by drf-tus): begun, sent in pieces, asked how
far they got, finished, then named by the capture form, which makes the story through the
same checks and the same service as a file posted whole. Through Django's test client, with
real recordings and real media probing."""

import base64
import os
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cms.daily import daily_run
from stories import sweeper
from stories.models import RESUMABLE_FOLDER, ResumableUpload, StoryKind, StoryPage
from stories.resumable import resumable_uploads_expire
from stories.uploads import LENGTH_REQUIRED_MESSAGE, too_large_message
from tests import factories
from tests.stories.test_capture import PDF, capture_url, form_data

TUS = {"Tus-Resumable": "1.0.0"}
PIECE = "application/offset+octet-stream"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def begin(client, project, size, name="jfk.m4a", **headers):
    metadata = f"filename {_b64(name)},filetype {_b64('audio/mp4')}"
    return client.generic(
        "POST",
        reverse("stories:resumable_uploads", args=[project.slug]),
        headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": metadata, **headers},
    )


def send(client, url, data: bytes, offset: int):
    return client.generic(
        "PATCH", url, data, content_type=PIECE, headers={**TUS, "Upload-Offset": str(offset)}
    )


def offset_of(client, url):
    response = client.head(url, headers=TUS)
    return response.status_code, response.headers.get("Upload-Offset")


def upload_whole(client, project, data: bytes, name="jfk.m4a"):
    url = begin(client, project, len(data), name=name)["Location"]
    assert send(client, url, data, 0).status_code == 204
    return url


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def in_progress(private_media):
    folder = private_media / RESUMABLE_FOLDER
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def recording(fixtures_dir):
    return (fixtures_dir / "audio" / "formats" / "jfk.m4a").read_bytes()


@pytest.fixture
def logged_in(client, reporter):
    client.force_login(reporter)
    return client


def test_an_upload_cut_off_half_way_carries_on_from_where_it_stopped_and_makes_the_story(
    logged_in, project, reporter, recording, private_media
):
    created = begin(logged_in, project, len(recording))
    assert created.status_code == 201
    url = created["Location"]
    assert url.startswith(f"/capture/{project.slug}/uploads/")

    half = len(recording) // 2
    first = send(logged_in, url, recording[:half], 0)
    assert first.status_code == 204 and first["Upload-Offset"] == str(half)
    # The connection drops; back online, the phone asks how far it got.
    assert offset_of(logged_in, url) == (200, str(half))
    # A piece sent again from the start is refused: nothing is written twice.
    assert send(logged_in, url, recording[:half], 0).status_code == 409
    rest = send(logged_in, url, recording[half:], half)
    assert rest.status_code == 204 and rest["Upload-Offset"] == str(len(recording))

    # Kept in the private folder, never in public media.
    upload = ResumableUpload.objects.get()
    assert upload.reporter == reporter and upload.state == "done"
    assert os.path.dirname(upload.temporary_file_path) == str(private_media / RESUMABLE_FOLDER)
    assert not any(p.is_file() for p in (private_media.parent / "media").rglob("*"))

    response = logged_in.post(
        capture_url(project) + f"?upload={upload_id(url)}", form_data(title="In pieces")
    )
    assert response.status_code == 302
    story = StoryPage.objects.get()
    assert story.title == "In pieces" and story.kind == StoryKind.AUDIO
    assert story.current_workflow_state is not None  # sent to the steward, as usual
    media = story.media.get()
    assert media.content_type == "audio/mp4" and media.size == len(recording)
    assert media.original_name == "jfk.m4a"
    # Used once, then gone, with its file.
    assert not ResumableUpload.objects.exists() and in_progress(private_media) == []
    assert offset_of(logged_in, url)[0] == 404


def test_the_form_sent_with_a_problem_keeps_the_upload_for_the_next_try(
    logged_in, project, recording
):
    url = upload_whole(logged_in, project, recording)
    address = capture_url(project) + f"?upload={upload_id(url)}"
    response = logged_in.post(address, form_data(title=""))
    assert response.status_code == 200 and "Please give the story a title." in response.text
    assert not StoryPage.objects.exists() and ResumableUpload.objects.count() == 1
    assert logged_in.post(address, form_data(title="Second try")).status_code == 302
    assert StoryPage.objects.get().title == "Second try"


def test_a_file_that_is_not_a_recording_is_refused_by_the_same_checks_and_not_kept(
    logged_in, project, private_media
):
    url = upload_whole(logged_in, project, PDF, name="story.m4a")
    response = logged_in.post(capture_url(project) + f"?upload={upload_id(url)}", form_data())
    assert response.status_code == 200
    assert "not a sound or video recording" in response.text
    assert not StoryPage.objects.exists()
    assert not ResumableUpload.objects.exists() and in_progress(private_media) == []


def test_an_upload_is_private_to_the_reporter_who_began_it(
    logged_in, project, other_reporter, other_project, recording
):
    url = begin(logged_in, project, len(recording))["Location"]
    send(logged_in, url, recording[:1000], 0)

    other = Client()
    other.force_login(other_reporter)
    assert offset_of(other, url)[0] == 404
    assert send(other, url, b"x" * 10, 1000).status_code == 404
    assert other.delete(url, headers=TUS).status_code == 404
    send(logged_in, url, recording[1000:], 1000)
    response = other.post(capture_url(project) + f"?upload={upload_id(url)}", form_data())
    assert response.status_code == 404
    assert not StoryPage.objects.exists()

    # A reporter of another project cannot begin one here.
    outsider = factories.user_with_role("reporter", other_project, username="olga")
    other.force_login(outsider)
    assert begin(other, project, 100).status_code == 404
    # Nor can anyone who is not logged in.
    assert begin(Client(), project, 100).status_code == 302
    # A made-up or malformed id is 404 too.
    assert logged_in.post(capture_url(project) + "?upload=nonsense", form_data()).status_code == 404


def test_the_size_limit_holds_when_it_begins_and_for_every_piece(
    logged_in, project, settings, private_media
):
    settings.STORYLOOM_MAX_UPLOAD_BYTES = 1000
    response = begin(logged_in, project, 1001)
    assert response.status_code == 413 and response.json()["message"] == too_large_message()
    assert not ResumableUpload.objects.exists()

    url = begin(logged_in, project, 500)["Location"]
    # More than it said it would send: refused, and nothing written.
    assert send(logged_in, url, b"x" * 600, 0).status_code == 413
    assert offset_of(logged_in, url) == (200, "0")
    # Without a length up front it is not accepted at all.
    deferred = logged_in.generic(
        "POST",
        reverse("stories:resumable_uploads", args=[project.slug]),
        headers={**TUS, "Upload-Defer-Length": "1"},
    )
    assert deferred.status_code == 411 and deferred.json()["message"] == LENGTH_REQUIRED_MESSAGE


def test_each_upload_counts_once_against_the_per_user_limit(
    logged_in, project, settings, recording
):
    settings.STORYLOOM_UPLOADS_PER_WINDOW = 1
    url = upload_whole(logged_in, project, recording)
    refused = begin(logged_in, project, len(recording))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Please wait" in refused.json()["message"]
    address = capture_url(project) + f"?upload={upload_id(url)}"
    # The form that names the upload is not counted a second time...
    assert logged_in.post(address, form_data(title="")).status_code == 200
    # ...but a form sent again counts, as any other.
    assert logged_in.post(address, form_data()).status_code == 429
    assert not StoryPage.objects.exists()


def test_the_story_made_from_an_upload_is_not_counted_twice(
    logged_in, project, settings, recording
):
    settings.STORYLOOM_UPLOADS_PER_WINDOW = 1
    url = upload_whole(logged_in, project, recording)
    response = logged_in.post(capture_url(project) + f"?upload={upload_id(url)}", form_data())
    assert response.status_code == 302 and StoryPage.objects.count() == 1


def test_pieces_need_the_csrf_token_like_any_form(project, reporter, recording):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)
    assert begin(client, project, len(recording)).status_code == 403
    page = client.get(capture_url(project))
    token = page.context["csrf_token"]
    created = begin(client, project, len(recording), **{"X-CSRFToken": str(token)})
    assert created.status_code == 201


def test_malformed_tus_headers_are_refused_plainly(logged_in, project):
    url = reverse("stories:resumable_uploads", args=[project.slug])
    bad = logged_in.generic("POST", url, headers={**TUS, "Upload-Length": "lots"})
    assert bad.status_code == 400
    no_tus = logged_in.generic("POST", url, headers={"Upload-Length": "10"})
    assert no_tus.status_code == 400
    created = begin(logged_in, project, 10)["Location"]
    no_offset = logged_in.generic("PATCH", created, b"x", content_type=PIECE, headers=TUS)
    assert no_offset.status_code == 400


def test_an_abandoned_upload_is_removed_by_the_daily_job(
    logged_in, project, recording, private_media
):
    url = begin(logged_in, project, len(recording))["Location"]
    send(logged_in, url, recording[:1000], 0)
    assert len(in_progress(private_media)) == 1
    assert resumable_uploads_expire() == 0  # still within its day

    upload = ResumableUpload.objects.get()
    upload.expires = timezone.now() - timedelta(minutes=1)
    upload.save()
    assert offset_of(logged_in, url)[0] == 404  # expired: it cannot be carried on
    outcome = daily_run()
    assert outcome["expired-uploads"] == "removed 1 expired resumable uploads"
    assert not ResumableUpload.objects.exists() and in_progress(private_media) == []


def test_a_partial_file_whose_record_is_gone_is_removed_by_the_orphan_sweeper(
    logged_in, project, recording, private_media
):
    url = begin(logged_in, project, len(recording))["Location"]
    send(logged_in, url, recording[:1000], 0)
    ResumableUpload.objects.all().delete()  # e.g. a database restored from a backup
    (partial,) = in_progress(private_media)
    assert sweeper.sweep(delete=True).orphan_files == []  # young: perhaps still in use
    old = time.time() - 2 * 24 * 3600
    os.utime(private_media / RESUMABLE_FOLDER / partial, (old, old))
    report = sweeper.sweep(delete=True)
    assert report.orphan_files == [f"{RESUMABLE_FOLDER}/{partial}"]
    assert in_progress(private_media) == []
