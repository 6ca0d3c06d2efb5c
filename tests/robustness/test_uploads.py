"""Uploads that are huge, endless, many, oddly named or too frequent: each gets a clear
answer, the server reads no more than it must, and nothing is left behind."""

import io
import re
import time
import tracemalloc

import pytest
from django.core.cache import CacheHandler
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from stories import uploads
from stories.models import StoryMedia, StoryPage
from tests.robustness import hostile
from tests.robustness.conftest import audio_upload, capture_url, form_data
from tests.stories.test_capture import nothing_stored

JSON = {"x-requested-with": "XMLHttpRequest"}


class NeverRead(io.RawIOBase):
    """A request body that must not be read at all (5 GB announced, or none)."""

    def readable(self):
        return True

    def read(self, size=-1):
        raise AssertionError("the server read a body it should have refused unread")

    readline = read


class Generated(io.RawIOBase):
    """A multipart body made as it is read, as a phone's upload arrives: `size` bytes of
    file in the middle, never all in memory at once. Counts what the server read."""

    def __init__(self, head: bytes, size: int, tail: bytes):
        self.parts = [head, size, tail]
        self.position = 0
        self.total = len(head) + size + len(tail)
        self.read_bytes = 0

    def readable(self):
        return True

    def _take(self, size):
        head, body, tail = self.parts
        out = bytearray()
        while size > 0 and self.position < self.total:
            if self.position < len(head):
                piece = head[self.position : self.position + size]
            elif self.position < len(head) + body:
                piece = b"\0" * min(size, len(head) + body - self.position)
            else:
                offset = self.position - len(head) - body
                piece = tail[offset : offset + size]
            out += piece
            self.position += len(piece)
            size -= len(piece)
        self.read_bytes += len(out)
        return bytes(out)

    def read(self, size=-1):
        return self._take(self.total if size is None or size < 0 else size)

    def readline(self, size=-1):
        return self.read(size)


def multipart_around_file(fields: dict, field_name: str, filename: str):
    """The head and tail of a multipart body with one file field whose bytes go between."""
    marker = b"\x00FILE-BYTES\x00"
    body = encode_multipart(
        BOUNDARY,
        {**fields, field_name: SimpleUploadedFile(filename, marker)},
    )
    head, tail = body.split(marker)
    return head, tail


# --- Size: announced, streamed, or not said at all -----------------------------------------


def test_a_5_gb_upload_is_refused_before_a_byte_is_read(logged_in, project, upload_tmp):
    response = logged_in.generic(
        "POST",
        capture_url(project),
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(5 * 1024**3),
        **{"wsgi.input": NeverRead()},
    )

    assert response.status_code == 413
    assert (
        uploads.too_large_message() in response.text and "The limit is 2.0\xa0GB" in response.text
    )
    assert "Nothing has been saved." in response.text
    assert upload_tmp() == []


@pytest.mark.parametrize("json", [False, True])
def test_a_chunked_upload_without_a_length_is_refused_unread_with_411(
    logged_in, project, upload_tmp, json, private_media
):
    response = logged_in.generic(
        "POST",
        capture_url(project),
        CONTENT_TYPE=MULTIPART_CONTENT,
        HTTP_TRANSFER_ENCODING="chunked",
        headers=JSON if json else {},
        **{"wsgi.input": NeverRead(), "CONTENT_LENGTH": ""},
    )

    assert response.status_code == 411
    if json:
        assert response.json() == {"message": uploads.LENGTH_REQUIRED_MESSAGE}
    else:
        assert uploads.LENGTH_REQUIRED_MESSAGE in response.text
    assert upload_tmp() == [] and nothing_stored(private_media)


def test_a_long_upload_streams_to_disk_with_flat_memory_and_stops_at_the_limit(
    logged_in, project, upload_tmp, settings, private_media
):
    """32 MB allowed; 32.5 MB sent with an honest length, so the server must count as it
    reads. It reads up to the limit and no further, holding a few chunks in memory."""
    limit = 32 * 1024**2
    settings.STORYLOOM_MAX_UPLOAD_BYTES = limit
    head, tail = multipart_around_file(form_data(), "media_file", "long.m4a")
    body = Generated(head, limit + 512 * 1024, tail)

    tracemalloc.start()
    try:
        response = logged_in.generic(
            "POST",
            capture_url(project),
            CONTENT_TYPE=MULTIPART_CONTENT,
            CONTENT_LENGTH=str(body.total),
            **{"wsgi.input": body},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 413 and uploads.too_large_message() in response.text
    assert limit <= body.read_bytes < body.total  # counted while reading, then stopped
    assert peak < 8 * 1024**2, f"{peak / 1024**2:.1f} MB held in memory for a 32 MB upload"
    assert upload_tmp() == [] and nothing_stored(private_media)


# --- How many files, and in which boxes -----------------------------------------------------


def test_more_files_than_allowed_in_one_request_are_refused_and_none_kept(
    logged_in, project, upload_tmp, private_media, settings, fixtures_dir
):
    files = {f"extra_{n}": SimpleUploadedFile(f"{n}.m4a", b"x" * 2000) for n in range(11)}
    data = {**form_data(media_file=audio_upload(fixtures_dir)), **files}

    response = logged_in.post(capture_url(project), data, headers=JSON)

    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 10
    assert response.status_code == 400
    assert response.json() == {"message": uploads.TOO_MANY_FILES_MESSAGE}
    assert upload_tmp() == [] and nothing_stored(private_media)


def test_several_files_in_one_box_are_refused_even_when_the_last_one_is_good(
    logged_in, project, upload_tmp, private_media, fixtures_dir
):
    # A form field keeps only the last file of its name: the PDF first would go unchecked.
    pdf = SimpleUploadedFile("story.m4a", hostile.PDF, content_type="audio/mp4")
    data = form_data(media_file=[pdf, audio_upload(fixtures_dir)])

    response = logged_in.post(capture_url(project), data)

    assert response.context["form"].errors["media_file"] == [
        "Please choose one file here, not several."
    ]
    assert nothing_stored(private_media) and upload_tmp() == []


def test_a_file_in_a_box_the_form_does_not_have_is_refused(
    logged_in, project, private_media, fixtures_dir
):
    stray = SimpleUploadedFile("x.html", hostile.HTML_DOCUMENT, content_type="text/html")
    data = form_data(media_file=audio_upload(fixtures_dir), avatar=stray)

    response = logged_in.post(capture_url(project), data)

    assert "A file was sent that this form does not ask for." in response.text
    assert nothing_stored(private_media)


@pytest.mark.parametrize(
    "evidence, message",
    [
        (("form.svg", hostile.SVG_WITH_SCRIPT), "not a sound or video recording"),
        (("form.png", hostile.png_html_polyglot()), "something other than a photo hidden"),
    ],
    ids=["svg-with-script", "png-html-polyglot"],
)
def test_every_file_is_checked_a_good_recording_does_not_carry_bad_evidence_in(
    logged_in, project, private_media, fixtures_dir, evidence, message
):
    name, content = evidence
    data = form_data(
        media_file=audio_upload(fixtures_dir), consent_evidence=SimpleUploadedFile(name, content)
    )

    response = logged_in.post(capture_url(project), data)

    assert message in response.context["form"].errors["consent_evidence"][0]
    assert nothing_stored(private_media)


# --- File names -----------------------------------------------------------------------------

GENERATED = re.compile(r"^stories/\d{4}/\d{2}/[0-9a-f]{32}\.m4a$")


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/passwd.m4a",
        "evil\x00.m4a",
        "\u202egnp.exe.m4a",
        "a" * 300 + ".m4a",
        "story." + "é" * 200,  # an "extension" longer than a file name may be
        '<img src=x onerror=alert(1)>".m4a',
    ],
    ids=["dot-dot", "nul", "rtl-override", "300-chars", "long-extension", "markup"],
)
def test_hostile_file_names_are_stored_under_names_of_our_own(
    logged_in, project, fixtures_dir, upload_tmp, name
):
    upload = audio_upload(fixtures_dir)
    upload.name = name  # SimpleUploadedFile would clean it; the browser sends it as it is
    body = encode_multipart(BOUNDARY, form_data(media_file=upload)).replace(
        b'filename="' + upload.name.encode(), b'filename="' + name.encode()
    )

    response = logged_in.generic("POST", capture_url(project), body, content_type=MULTIPART_CONTENT)

    assert response.status_code == 302, response.content[:2000]
    media = StoryMedia.objects.get()
    assert GENERATED.match(media.file.name)
    assert "/" not in media.original_name and "\x00" not in media.original_name
    assert "\u202e" not in media.original_name and len(media.original_name) <= 255
    download = logged_in.get(reverse("stories:recording", args=[media.pk]), HTTP_RANGE="bytes=0-1")
    assert download["Content-Disposition"] == f'inline; filename="story-{media.story_id}.m4a"'
    for page in (
        logged_in.get(response["Location"]),
        logged_in.get(reverse("stories:my_stories", args=[project.slug])),
    ):
        assert page.status_code == 200
        assert "<img src=x" not in page.text and "passwd" not in page.text
    assert upload_tmp() == []


# --- How often one person may send a story ------------------------------------------------------


def send_typed(client, project, **headers):
    return client.post(
        capture_url(project), form_data(story_type="type", text="Hello"), headers=headers
    )


def test_one_person_sending_story_after_story_gets_429_with_a_plain_message(
    client, logged_in, project, other_reporter, settings, private_media
):
    settings.STORYLOOM_UPLOADS_PER_WINDOW = 3
    settings.STORYLOOM_UPLOAD_WINDOW_MINUTES = 10
    assert [send_typed(logged_in, project).status_code for _ in range(3)] == [302] * 3

    refused = logged_in.generic(
        "POST",
        capture_url(project),
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(1024**3),
        **{"wsgi.input": NeverRead()},  # refused before the upload is read
    )
    as_json = send_typed(logged_in, project, **JSON)

    assert refused.status_code == 429 and as_json.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    message = as_json.json()["message"]
    assert message.startswith("You have sent a lot of stories in a short time")
    assert re.search(r"Please wait (\d+ minutes|1 minute), then send it again\.", message)
    assert message in refused.text and "Nothing has been saved." in refused.text
    assert StoryPage.objects.count() == 3
    # Someone else is not held back by it.
    client.force_login(other_reporter)
    assert send_typed(client, project).status_code == 302


def test_the_count_starts_again_in_the_next_window(reporter, settings):
    settings.STORYLOOM_UPLOADS_PER_WINDOW = 2
    settings.STORYLOOM_UPLOAD_WINDOW_MINUTES = 10
    start = 1_800_000_000.0  # the start of a 10-minute window

    waits = [uploads.upload_wait_seconds(reporter, now=start + n) for n in range(3)]
    later = uploads.upload_wait_seconds(reporter, now=start + 600)

    assert waits[:2] == [0, 0] and waits[2] == 598 and later == 0


@pytest.mark.parametrize("backend", ["files", "redis"])
def test_the_count_is_shared_by_every_web_process(reporter, settings, tmp_path, backend):
    """Another process has its own cache objects; it must see the same count. A new
    CacheHandler over the same settings is what a second gunicorn worker builds."""
    if backend == "redis":
        # A database of its own (the task tests flush 15), and only our keys are removed.
        config = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": f"storyloom-test-{tmp_path.name}",
        }
    else:
        config = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    settings.CACHES = {**settings.CACHES, "uploads": config}
    settings.STORYLOOM_UPLOADS_PER_WINDOW = 2
    now = time.time()
    keys = [f"storyloom:uploads:{reporter.pk}:{int(now // 600) + n}" for n in (0, 1)]
    other_process = CacheHandler()
    try:
        first = [uploads.upload_wait_seconds(reporter, now=now) for _ in range(2)]
        assert first == [0, 0]
        assert other_process["uploads"].get(keys[0]) == 2  # the other process sees it
        other_process["uploads"].incr(keys[0])  # and counts there are seen here
        assert uploads.upload_wait_seconds(reporter, now=now) > 0
        assert other_process["uploads"].get(keys[0]) == 4
    finally:
        other_process["uploads"].delete_many(keys)


def test_a_counter_that_cannot_be_reached_lets_the_story_through(
    logged_in, project, settings, caplog
):
    settings.CACHES = {
        **settings.CACHES,
        "uploads": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 1},
        },
    }
    settings.STORYLOOM_UPLOADS_PER_WINDOW = 1

    answers = [send_typed(logged_in, project).status_code for _ in range(2)]

    assert answers == [302, 302]
    assert "The upload counter could not be reached" in caplog.text


@pytest.mark.parametrize("redis_url", ["", "redis://redis.internal:6379/2"])
def test_the_upload_counts_live_where_every_web_process_sees_them(tmp_path, redis_url):
    """Not the per-process memory cache: Redis when there is one, else files under var/."""
    from tests.test_settings import clean_env, load_settings

    env = clean_env(tmp_path / "var", **({"REDIS_URL": redis_url} if redis_url else {}))
    found = load_settings(env, "CACHES", "STORYLOOM_UPLOADS_PER_WINDOW")

    cache = found["CACHES"]["uploads"]
    if redis_url:
        assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert cache["LOCATION"] == redis_url
    else:
        assert cache["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
        assert cache["LOCATION"] == str(tmp_path / "var" / "cache" / "uploads")
    assert found["STORYLOOM_UPLOADS_PER_WINDOW"] == 30
