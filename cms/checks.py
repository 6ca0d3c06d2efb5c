"""Deployment checks of our own (`manage.py check`, also run by `migrate` and `runserver`):
a site that would expose private media, show debug pages to the world or take uploads of
any size does not start quietly."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]", "testserver"}


def _inside(path, folder) -> bool:
    if not path or not folder:
        return False
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


@register(Tags.security, deploy=False)
def private_media_is_not_public(app_configs=None, **kwargs):
    errors = []
    private = settings.STORAGES.get("private")
    if private is None:
        return [Error("There is no 'private' storage.", id="storyloom.E001")]
    options = private.get("OPTIONS", {})
    if options.get("base_url"):
        errors.append(
            Error(
                "Private media has a public URL (STORAGES['private']['OPTIONS']['base_url']).",
                hint="Remove base_url: recordings are served only by the permission-checked view.",
                id="storyloom.E001",
            )
        )
    if (
        options.get("default_acl") not in (None, "private")
        or options.get("querystring_auth") is False
    ):
        errors.append(
            Error(
                "Private media on object storage would be readable without a signature.",
                hint="Use default_acl 'private' and querystring_auth True.",
                id="storyloom.E001",
            )
        )
    location = options.get("location")
    for name in ("MEDIA_ROOT", "STATIC_ROOT"):
        if _inside(location, getattr(settings, name, None)):
            errors.append(
                Error(
                    f"Private media lies inside {name}, which is served publicly.",
                    hint="Set PRIVATE_MEDIA_ROOT to a folder outside it.",
                    id="storyloom.E001",
                )
            )
    return errors


@register(Tags.security, deploy=False)
def debug_only_on_this_machine(app_configs=None, **kwargs):
    if not settings.DEBUG:
        return []
    public = [host for host in settings.ALLOWED_HOSTS if host not in LOCAL_HOSTS]
    if not public:
        return []
    return [
        Error(
            f"DEBUG is on while the site answers to {', '.join(public)}.",
            hint="Debug pages show settings and data to anyone: unset DJANGO_DEBUG.",
            id="storyloom.E002",
        )
    ]


@register(Tags.security, deploy=False)
def uploads_have_a_size_limit(app_configs=None, **kwargs):
    limit = getattr(settings, "STORYLOOM_MAX_UPLOAD_BYTES", 0)
    handler = "stories.uploads.SizeLimitUploadHandler"
    if limit and limit > 0 and settings.FILE_UPLOAD_HANDLERS[:1] == [handler]:
        return []
    return [
        Error(
            "Uploads have no size limit.",
            hint=f"Set STORYLOOM_MAX_UPLOAD_BYTES above 0 and keep {handler} first in "
            "FILE_UPLOAD_HANDLERS.",
            id="storyloom.E003",
        )
    ]
