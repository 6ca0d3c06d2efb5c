"""Serving a private file: one permission check (in the caller's selector), then the bytes,
with HTTP Range for seeking and headers that stop browsers from running or caching it."""

import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _harden(response, *, filename: str, as_attachment: bool = False):
    response["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Cross-Origin-Resource-Policy"] = "same-origin"
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
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
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


def serve_private_file(request, field_file, *, content_type: str, filename: str):
    storage, name = field_file.storage, field_file.name
    size = storage.size(name)
    byte_range = parse_range(request.headers.get("Range", ""), size)
    if byte_range is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _harden(response, filename=filename)
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(size)
        return _harden(response, filename=filename)
    handle = storage.open(name, "rb")
    if byte_range is None:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            _ranged(handle, start, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    return _harden(response, filename=filename)
