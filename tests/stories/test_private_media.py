"""Original recordings and consent evidence: only the story's reporter and data stewards get
the bytes; everyone else gets the same 404, whatever headers they send."""

import uuid

import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.urls import reverse
from wagtail.models import PageLogEntry

from stories import selectors, services
from stories.models import CONSENT_SCOPES
from tests import factories

HOSTILE_NAME = "../../etc/passwd\u202egnp.mp3"
EVIDENCE = b"%PDF-1.4\n% signed consent form\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


@pytest.fixture
def story(project, reporter, fixtures_dir):
    """A story whose recording was uploaded under a hostile file name."""
    teller = factories.storyteller(project, reporter)
    with (fixtures_dir / "audio" / "jfk.flac").open("rb") as handle:
        return services.story_create(
            project=project,
            reporter=reporter,
            story=services.StoryInput(title="Waiting room", storyteller=teller),
            consent=services.ConsentInput(scopes=set(CONSENT_SCOPES)),
            recording=File(handle, name=HOSTILE_NAME),
        )


@pytest.fixture
def recording(story):
    return story.media.get()


@pytest.fixture
def evidence(story, reporter):
    return services.consent_record(
        story=story,
        user=reporter,
        consent=services.ConsentInput(
            scopes=set(CONSENT_SCOPES),
            evidence=ContentFile(EVIDENCE, name="../../Signed form \u202efdp.exe"),
        ),
    )


@pytest.fixture(params=["recording", "evidence"])
def private(request, fixtures_dir):
    """(url, exact bytes, log action, content type) for each kind of private file."""
    if request.param == "recording":
        media = request.getfixturevalue("recording")
        content = (fixtures_dir / "audio" / "jfk.flac").read_bytes()
        return (
            reverse("stories:recording", args=[media.pk]),
            content,
            "storyloom.media.view",
            "audio/flac",
        )
    consent = request.getfixturevalue("evidence")
    return (
        reverse("stories:consent_evidence", args=[consent.pk]),
        EVIDENCE,
        "storyloom.consent.evidence_view",
        "application/pdf",
    )


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def assert_hardened(response):
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert "ETag" not in response and "Last-Modified" not in response
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline; filename=")
    assert "passwd" not in disposition and "\u202e" not in disposition
    assert ".." not in disposition and "/" not in disposition
    assert "Signed" not in disposition and "exe" not in disposition


def openings(action):
    return PageLogEntry.objects.filter(action=action).count()


def test_the_reporter_gets_the_whole_file_with_exact_bytes(client, reporter, private):
    url, content, action, content_type = private
    client.force_login(reporter)

    response = client.get(url)

    assert response.status_code == 200
    assert body(response) == content
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Type"] == content_type
    assert response["Accept-Ranges"] == "bytes"
    assert_hardened(response)
    entry = PageLogEntry.objects.get(action=action)
    assert entry.user == reporter


def test_the_download_name_is_ours_never_the_uploaders(client, reporter, recording, story):
    client.force_login(reporter)
    response = client.get(reverse("stories:recording", args=[recording.pk]))
    assert response["Content-Disposition"] == f'inline; filename="story-{story.pk}.flac"'
    assert "etc" not in recording.file.name and "passwd" not in recording.file.name
    assert recording.original_name == HOSTILE_NAME  # kept as data, shown escaped only


@pytest.mark.parametrize(
    "header, status, start, end",
    [
        ("bytes=0-99", 206, 0, 99),
        ("bytes=100-", 206, 100, None),
        ("bytes=-50", 206, -50, None),
        ("bytes=10-999999999", 206, 10, None),  # end past the file is clamped
    ],
)
def test_a_single_range_gets_exactly_that_slice(
    client, reporter, private, header, status, start, end
):
    url, content, _, _ = private
    client.force_login(reporter)

    response = client.get(url, headers={"Range": header})

    size = len(content)
    first = start if start >= 0 else size + start
    last = end if end is not None else size - 1
    assert response.status_code == status
    assert body(response) == content[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert response["Content-Length"] == str(last - first + 1)
    assert_hardened(response)


def test_an_unsatisfiable_range_is_416_with_the_size(client, reporter, private):
    url, content, action, _ = private
    client.force_login(reporter)

    response = client.get(url, headers={"Range": "bytes=999999999-"})

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(content)}"
    assert body(response) == b""
    assert_hardened(response)
    assert openings(action) == 0


def test_several_ranges_get_the_whole_file(client, reporter, private):
    url, content, _, _ = private
    client.force_login(reporter)

    response = client.get(url, headers={"Range": "bytes=0-9,20-29"})

    assert response.status_code == 200
    assert body(response) == content


def test_head_gives_the_headers_without_the_bytes(client, reporter, private):
    url, content, action, content_type = private
    client.force_login(reporter)

    response = client.head(url)

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Type"] == content_type
    assert body(response) == b""
    assert_hardened(response)
    assert openings(action) == 0  # nothing was read

    ranged = client.head(url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged["Content-Range"] == f"bytes 0-99/{len(content)}"
    assert body(ranged) == b""


def test_only_openings_from_the_first_byte_are_logged(client, steward, private):
    url, content, action, _ = private
    client.force_login(steward)

    assert body(client.get(url, headers={"Range": "bytes=0-99"})) == content[:100]
    assert body(client.get(url, headers={"Range": "bytes=100-"})) == content[100:]
    assert body(client.get(url, headers={"Range": "bytes=-50"})) == content[-50:]
    assert openings(action) == 1
    client.get(url)
    assert list(PageLogEntry.objects.filter(action=action).values_list("user", flat=True)) == [
        steward.pk,
        steward.pk,
    ]


def test_a_steward_gets_the_file(client, steward, private):
    url, content, _, _ = private
    client.force_login(steward)
    response = client.get(url)
    assert response.status_code == 200
    assert body(response) == content


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Range": "bytes=0-99"},
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
    ],
)
@pytest.mark.parametrize("who", ["other_reporter", "reporter_elsewhere", "facilitator", "manager"])
def test_everyone_else_gets_the_same_404(client, request, other_project, private, who, headers):
    url, content, action, _ = private
    if who == "reporter_elsewhere":
        viewer = factories.user_with_role("reporter", other_project, username="bea")
    else:
        viewer = request.getfixturevalue(who)
    client.force_login(viewer)

    for method in (client.get, client.head):
        response = method(url, headers=headers)
        assert response.status_code == 404
        assert content[:64] not in body(response)
        assert "ETag" not in response and "Content-Range" not in response
    assert openings(action) == 0


def test_a_facilitator_never_gets_the_original_recording_even_when_approved(
    client, story, recording, steward, facilitator
):
    services.story_approve(story=story, user=steward)
    client.force_login(facilitator)
    assert selectors.story_get_for_user(user=facilitator, story_id=story.pk) == story
    assert client.get(reverse("stories:recording", args=[recording.pk])).status_code == 404


def test_an_inactive_reporter_gets_404(client, reporter, private):
    url, _, _, _ = private
    client.force_login(reporter)
    reporter.is_active = False
    reporter.save()
    response = client.get(url)
    assert response.status_code in (302, 404)  # logged out by Django, or refused
    assert response.status_code != 200


def test_anonymous_is_sent_to_log_in_and_gets_no_bytes(db, client, private):
    url, content, action, _ = private
    response = client.get(url, headers={"Range": "bytes=0-99"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))
    assert content[:64] not in body(response)
    assert openings(action) == 0


def test_unknown_files_are_404(client, steward, story, reporter):
    client.force_login(steward)
    assert client.get(reverse("stories:recording", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("stories:consent_evidence", args=[999999])).status_code == 404
    # A consent version without an evidence file has nothing to open.
    first = story.consents.get(version=1)
    assert not first.evidence
    assert client.get(reverse("stories:consent_evidence", args=[first.pk])).status_code == 404


def test_post_is_not_allowed(client, reporter, private):
    url, _, action, _ = private
    client.force_login(reporter)
    assert client.post(url).status_code == 405
    client.logout()
    assert client.post(url).status_code == 405
    assert openings(action) == 0
