"""Receiving uploads safely: a size limit enforced while the body streams in, temporary files
that never take their name from the uploader, and a per-user limit on how often anyone may
send a story."""

import logging
import math
import os
import tempfile
import time

from django.conf import settings
from django.core.cache import caches
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.template.defaultfilters import filesizeformat

logger = logging.getLogger(__name__)

# Temporary files of uploads being received. The orphan sweeper (stories.sweeper) looks for
# these names when it clears what a crashed process left behind.
UPLOAD_TEMP_SUFFIX = ".upload"

LENGTH_REQUIRED_MESSAGE = (
    "We could not tell how big this upload is, so it was not accepted. "
    "Please send the story again from the story form."
)
TOO_MANY_FILES_MESSAGE = (
    "Too many files were sent at once. Please send one story at a time, with one "
    "recording and at most one proof of consent."
)
BROKEN_FORM_MESSAGE = (
    "The story could not be read: the form arrived in pieces. "
    "Please send the story again from the story form."
)
TEXT_TOO_LONG_MESSAGE = (
    "The typed story is too long to send in one go. Please upload it as a text file (.txt) instead."
)
NO_ROOM_MESSAGE = (
    "The server has no room to receive the story just now, so nothing was saved. "
    "Please try again later, and tell your data steward if this keeps happening."
)


def too_large_message() -> str:
    limit = filesizeformat(settings.STORYLOOM_MAX_UPLOAD_BYTES)
    return (
        f"This file is too big to upload. The limit is {limit}. "
        "Please record a shorter story, or ask your data steward for help."
    )


def request_too_large(request) -> bool:
    """True before the body is read when the client announces more than the limit allows."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.STORYLOOM_MAX_UPLOAD_BYTES + 1024 * 1024


def length_missing(request) -> bool:
    """A body sent without saying how long it is (chunked transfer encoding). Django reads a
    request body only up to its Content-Length, so such a story would arrive empty: it is
    answered 411 instead, before anything is read."""
    return not str(request.META.get("CONTENT_LENGTH") or "").strip()


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading a request as soon as its uploads pass the size limit, whether or not
    the client sent a Content-Length (chunked uploads are counted as they arrive). The
    request is marked `upload_too_large` for the view to answer with a clear message; the
    partial temporary file of the next handler is closed and removed by Django."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.total = 0
        self.request.upload_too_large = False

    def receive_data_chunk(self, raw_data, start):
        self.total += len(raw_data)
        if self.total > settings.STORYLOOM_MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


class _TemporaryUpload(UploadedFile):
    """Django's TemporaryUploadedFile, except that the temporary file's name takes nothing
    from the uploader: Django's own adds the uploaded name's extension, so a name with a
    very long "extension" fails with "File name too long" before the view is reached."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        file = tempfile.NamedTemporaryFile(
            prefix="storyloom-", suffix=UPLOAD_TEMP_SUFFIX, dir=settings.FILE_UPLOAD_TEMP_DIR
        )
        super().__init__(file, name, content_type, size, charset, content_type_extra)

    def temporary_file_path(self):
        return self.file.name

    def close(self):
        try:
            return self.file.close()
        except FileNotFoundError:
            pass


class SafeTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams each upload to a temporary file on disk (never whole in memory), under a name
    of our own, and remembers every file it made so that a refused request can remove all
    of them at once (Django removes only the file in progress)."""

    def new_file(self, *args, **kwargs):
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = _TemporaryUpload(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
        self.request.__dict__.setdefault("_storyloom_uploads", []).append(self.file)


def discard_uploads(request) -> None:
    """Close and remove every temporary file this request's upload made so far."""
    for upload in request.__dict__.pop("_storyloom_uploads", []):
        path = upload.temporary_file_path()
        upload.close()
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


# --- How often one person may send a story ------------------------------------------------


def rate_limit_message(wait_seconds: int) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    when = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return (
        "You have sent a lot of stories in a short time, so this one was not accepted. "
        f"Please wait {when}, then send it again. The stories you sent before are safe."
    )


def _window_seconds() -> int:
    return max(1, int(settings.STORYLOOM_UPLOAD_WINDOW_MINUTES * 60))


def upload_wait_seconds(user, *, now: float | None = None) -> int:
    """Count one story sent by `user`, and say how long they must wait if it is one too
    many: 0 when it may go ahead.

    Counted in a fixed window (STORYLOOM_UPLOADS_PER_WINDOW per
    STORYLOOM_UPLOAD_WINDOW_MINUTES) in the "uploads" cache, which every web process shares
    (Redis with REDIS_URL, else files under var/), so the limit holds whichever process
    answers. If that cache cannot be reached, the story is let through: a broken counter
    must not stop reporters working."""
    allowed = settings.STORYLOOM_UPLOADS_PER_WINDOW
    if not allowed or allowed <= 0:
        return 0
    window = _window_seconds()
    now = time.time() if now is None else now
    slot = int(now // window)
    key = f"storyloom:uploads:{user.pk}:{slot}"
    cache = caches[settings.STORYLOOM_UPLOAD_RATE_CACHE]
    try:
        cache.add(key, 0, timeout=window + 60)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 60)
        count = 1
    except Exception:  # noqa: BLE001 — the counter is down: let the story through
        logger.warning("The upload counter could not be reached; no limit applied.", exc_info=True)
        return 0
    if count <= allowed:
        return 0
    return max(1, int((slot + 1) * window - now))
