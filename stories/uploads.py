from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat


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
