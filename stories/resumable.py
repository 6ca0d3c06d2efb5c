"""Resumable uploads from phones: the tus protocol (https://tus.io), served by drf-tus.

A reporter's phone sends the recording in pieces to /capture/<project>/uploads/; when the
signal drops, the phone asks how much arrived (HEAD) and carries on from there. The finished
upload is then named in the capture form's POST (`?upload=<id>`) and goes through the same
form, the same checks and the same service (services.story_create) as a file posted whole.

The same rules as for a story posted whole: the same size limit (checked when the upload
begins and on every piece), the same per-user limit (counted once, when the upload begins),
reporters of the project only, and each upload is its reporter's alone (anyone else's id
answers 404). What has arrived lies under PRIVATE_MEDIA_ROOT (ResumableUpload); an upload
not finished and used within a day is removed by the daily job, and the orphan sweeper
removes any file whose row is gone."""

import json
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import decorator_from_middleware
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework_tus import constants, states
from rest_framework_tus.middleware import TusMiddleware
from rest_framework_tus.storage import AbstractUploadSaveHandler
from rest_framework_tus.views import UploadViewSet, has_required_tus_header

from cms.selectors import projects_for_reporting
from stories import uploads
from stories.forms import EMPTY_FILE, StoryType
from stories.models import ResumableUpload

logger = logging.getLogger(__name__)

BROKEN_UPLOAD_MESSAGE = (
    "The recording arrived in pieces that do not fit together. "
    "Please send the story again from the story form."
)


class KeepInPrivateFolder(AbstractUploadSaveHandler):
    """drf-tus's last step once every piece has arrived. Its default copies the file to
    public media; ours leaves it where it is, in the private folder, for the capture form."""

    def handle_save(self):
        self.finish()


class _Middleware(TusMiddleware):
    """drf-tus's header parsing, for these views only. A malformed header is the sender's
    mistake (400), not a server error."""

    def process_request(self, request):
        try:
            return super().process_request(request)
        except (ValueError, TypeError, UnicodeDecodeError):
            return HttpResponse(BROKEN_UPLOAD_MESSAGE, status=400, content_type="text/plain")


class _UploadSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResumableUpload
        fields = ["guid", "upload_length", "upload_metadata", "filename"]


def _refused(message, code, **headers):
    return Response({"message": message}, status=code, headers=headers or None)


class ResumableUploadViewSet(UploadViewSet):
    """drf-tus's creation, HEAD, PATCH and termination, within one project, for its
    reporters, each upload seen by its reporter alone."""

    serializer_class = _UploadSerializer
    lookup_url_kwarg = "upload_id"
    authentication_classes = [SessionAuthentication]  # which also checks the CSRF token
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    http_method_names = ["post", "head", "patch", "delete"]
    max_file_size = property(lambda self: settings.STORYLOOM_MAX_UPLOAD_BYTES)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Reporters in their own projects, stewards in any (as the capture form); else 404.
        self.project = get_object_or_404(
            projects_for_reporting(user=request.user), slug=kwargs["project_slug"]
        )

    def get_queryset(self):
        uploads_ = ResumableUpload.objects.filter(
            reporter=self.request.user, project=self.project, expires__gt=timezone.now()
        )
        if self.request.method == "PATCH":
            uploads_ = uploads_.select_for_update()  # one piece at a time per upload
        return uploads_

    def create(self, request, *args, **kwargs):
        if not has_required_tus_header(request):
            return _refused(BROKEN_UPLOAD_MESSAGE, status.HTTP_400_BAD_REQUEST)
        wait = uploads.upload_wait_seconds(request.user)
        if wait:
            return _refused(
                uploads.rate_limit_message(wait),
                status.HTTP_429_TOO_MANY_REQUESTS,
                **{"Retry-After": str(wait)},
            )
        # The length is needed up front (no Upload-Defer-Length): it is what the limit and
        # every piece are checked against.
        length = getattr(request, constants.UPLOAD_LENGTH_FIELD_NAME, None)
        if length is None or length < 0:
            return _refused(uploads.LENGTH_REQUIRED_MESSAGE, status.HTTP_411_LENGTH_REQUIRED)
        if length == 0:
            return _refused(EMPTY_FILE, status.HTTP_400_BAD_REQUEST)
        if length > settings.STORYLOOM_MAX_UPLOAD_BYTES:
            return _refused(uploads.too_large_message(), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(reporter=self.request.user, project=self.project)

    def validate_filename(self, filename):
        # The stored file's name never comes from the uploader (its name stays in the
        # metadata, as the story's original name).
        return ""

    def get_success_headers(self, data):
        url = reverse(
            "stories:resumable_upload",
            kwargs={"project_slug": self.project.slug, "upload_id": data["guid"]},
        )
        return {"Location": url}

    def partial_update(self, request, *args, **kwargs):
        offset = getattr(request, constants.UPLOAD_OFFSET_NAME, None)
        if not has_required_tus_header(request) or offset is None:
            return _refused(BROKEN_UPLOAD_MESSAGE, status.HTTP_400_BAD_REQUEST)
        if uploads.length_missing(request):
            return _refused(uploads.LENGTH_REQUIRED_MESSAGE, status.HTTP_411_LENGTH_REQUIRED)
        piece = int(request.META["CONTENT_LENGTH"])
        if piece > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:  # read whole into memory
            return _refused(uploads.too_large_message(), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        with transaction.atomic():
            upload = self.get_object()
            if offset + piece > upload.upload_length:
                # More than was announced, so more than was checked against the limit.
                return _refused(
                    uploads.too_large_message(), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
                )
            return super().partial_update(request, *args, **kwargs)


_tus_headers = decorator_from_middleware(_Middleware)
upload_create = login_required(_tus_headers(ResumableUploadViewSet.as_view({"post": "create"})))
upload_detail = login_required(
    _tus_headers(
        ResumableUploadViewSet.as_view(
            {"head": "info", "patch": "partial_update", "delete": "destroy"}
        )
    )
)


# --- The capture form's side -------------------------------------------------------------


def _original_name(upload: ResumableUpload) -> str:
    # drf-tus keeps the Upload-Metadata header's values as a JSON text.
    try:
        metadata = json.loads(upload.upload_metadata or "{}")
    except (TypeError, ValueError):
        return ""
    return str(metadata.get("filename") or "") if isinstance(metadata, dict) else ""


class _FinishedUpload(UploadedFile):
    """A finished resumable upload, as the capture form sees a file posted whole: already on
    disk (temporary_file_path), so the checks and the service read it where it lies."""

    def __init__(self, upload: ResumableUpload):
        self._path = Path(upload.temporary_file_path)
        super().__init__(
            self._path.open("rb"),
            name=(_original_name(upload) or "recording")[-255:],
            content_type="application/octet-stream",
            size=self._path.stat().st_size,
        )

    def temporary_file_path(self):
        return str(self._path)


def finished_upload_for(request, project) -> ResumableUpload | None:
    """The finished upload the capture form's POST names (`?upload=<id>`): None when it
    names none; 404 unless it is one of this reporter's, in this project, finished, with
    its file in place."""
    upload_id = request.GET.get("upload")
    if upload_id is None:
        return None
    try:
        guid = uuid.UUID(upload_id)
    except ValueError:
        raise Http404("No such upload.") from None
    upload = ResumableUpload.objects.filter(
        guid=guid,
        reporter=request.user,
        project=project,
        state=states.DONE,
        expires__gt=timezone.now(),
    ).first()
    if upload is None or not upload.temporary_file_exists():
        raise Http404("No such upload.")
    return upload


def use_credit(*, upload: ResumableUpload) -> bool:
    """True the first time only: the upload was counted against the per-user limit when it
    began, so the first form that names it is not counted again."""
    return bool(
        ResumableUpload.objects.filter(pk=upload.pk, credit_used=False).update(credit_used=True)
    )


def files_with_upload(files, *, upload: ResumableUpload, story_type: str):
    """The form's files, with the finished upload in the box of the chosen way of adding the
    story (a recording, or a sound or video file). A file posted in that box wins."""
    field = {StoryType.RECORD: "recording", StoryType.UPLOAD: "media_file"}.get(story_type)
    if field is None or field in files:
        return files
    files = files.copy()
    files[field] = _FinishedUpload(upload)
    return files


def close_files(files) -> None:
    for item in files.values():
        if isinstance(item, _FinishedUpload):
            item.close()


def resumable_upload_delete(*, upload: ResumableUpload) -> None:
    """Remove the upload and its file (used, refused, or no longer wanted)."""
    upload.delete()  # drf-tus removes the file with the row


def resumable_uploads_expire(*, now=None) -> int:
    """Remove the uploads whose time has run out, finished or not, with their files.
    Returns how many."""
    now = now or timezone.now()
    removed = 0
    for upload in ResumableUpload.objects.filter(expires__lte=now).iterator():
        try:
            upload.delete()
            removed += 1
        except OSError as error:
            logger.warning("An expired upload's file could not be removed: %s", error.strerror)
    return removed


def expire_daily(today) -> str:
    """The daily job (cms.daily)."""
    return f"removed {resumable_uploads_expire()} expired resumable uploads"


def upload_after_submit(*, upload: ResumableUpload, form, story) -> None:
    """Once the form has been sent with the upload: a story made from it, or a file found
    not to be a recording, leaves no use for it, so it goes now. On any other problem (a
    missing title, say) it stays, for the form to be sent again without sending it again."""
    if story is not None or any(name in form.errors for name in ("recording", "media_file")):
        resumable_upload_delete(upload=upload)
