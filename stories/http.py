"""Serving a private file: one permission check (in the caller's selector), then the bytes,
with HTTP Range for seeking and headers that stop browsers from running or caching it."""

import re
from collections.abc import Callable

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024
CONTENT_SECURITY_POLICY = "default-src 'none'; media-src 'self'; sandbox"


def _harden(response, *, filename: str, as_attachment: bool = False):
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    # No validators: a cached copy must never be reused, and none may hint at the content.
    for header in ("ETag", "Last-Modified"):
        if header in response:
            del response[header]
    return response


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) inclusive for one satisfiable range; None to send the whole file
    (no header, several ranges, or one we do not understand); False when unsatisfiable."""
    match = _RANGE.match(header.strip()) if header else None
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid syntax: RFC 9110 says ignore the header
    if start >= size:
        return False
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def _ranged(handle, start: int, length: int):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve_private_file(
    request,
    field_file,
    *,
    content_type: str,
    filename: str,
    on_open: Callable[[], None] | None = None,
):
    """The file, whole or one byte range. `on_open` is called when a GET starts reading
    from the first byte, so a player seeking through a recording is logged once, not for
    every chunk."""
    storage, name = field_file.storage, field_file.name
    size = storage.size(name)
    # A range tied to a validator we never hand out (If-Range) cannot match: send it all.
    header = "" if "If-Range" in request.headers else request.headers.get("Range", "")
    byte_range = parse_range(header, size)
    if byte_range is False:
        response = HttpResponse(status=416, content_type="text/plain")
        response["Content-Range"] = f"bytes */{size}"
        return _harden(response, filename=filename)

    start, end = byte_range if byte_range else (0, size - 1)
    length = max(end - start + 1, 0)
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type, status=206 if byte_range else 200)
    else:
        handle = storage.open(name, "rb")
        response = StreamingHttpResponse(
            _ranged(handle, start, length),
            status=206 if byte_range else 200,
            content_type=content_type,
        )
        if on_open is not None and start == 0:
            on_open()
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    return _harden(response, filename=filename)


# --- Searches -------------------------------------------------------------------------------

MAX_SEARCH_WORDS = 32
MAX_SEARCH_CHARACTERS = 200
SEARCH_TOO_LONG_MESSAGE = (
    f"This search is too long. Please search for at most {MAX_SEARCH_WORDS} words "
    f"({MAX_SEARCH_CHARACTERS} letters)."
)


class SearchLimitMiddleware:
    """Refuses, with 400 and a plain message, a search (`?q=`) longer than anyone types,
    before any view builds a query from it. Wagtail's search turns every word into one more
    nested expression: a couple of hundred words exhaust Python's recursion limit (a 500
    error on PostgreSQL from about 200 words), and a long one costs every listing's time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(_too_long(value) for value in request.GET.getlist("q")):
            return HttpResponse(
                SEARCH_TOO_LONG_MESSAGE, status=400, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


def _too_long(value: str) -> bool:
    return len(value) > MAX_SEARCH_CHARACTERS or len(value.split()) > MAX_SEARCH_WORDS
