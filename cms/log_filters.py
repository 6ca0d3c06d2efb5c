"""Logging filters that keep personal data out of the server logs (settings.LOGGING)."""

import logging
import re

_PATH = re.compile(r"(?<![^\s\"'])/[^\s?#\"']*")
# Routes whose paths are made of what people typed: a page's slug comes from its title (a
# story's title may hold a name), a document's path ends in its file name.
_FREE_TEXT_VIEWS = {"wagtail_serve", "wagtaildocs_serve", "wagtaildocs_authenticate_with_password"}


def safe_path(path: str) -> str:
    """`path`, with everything after its first part hidden where the rest was typed by people
    ("/probation-voices/stories/ann-s-story/" → "/probation-voices/…")."""
    from django.urls import Resolver404, resolve

    try:
        view = resolve(path).url_name
    except Resolver404:
        view = None
    if view is not None and view not in _FREE_TEXT_VIEWS:
        return path
    first = path.strip("/").split("/", 1)[0]
    return f"/{first}/…" if first and path.strip("/") != first else path


class HidePagePaths(logging.Filter):
    """django.request names the path of every refused or failed request ("Not Found: /…"):
    on pages and documents, only its first part is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if isinstance(record.args, tuple) and record.args:
                record.args = tuple(
                    _PATH.sub(lambda m: safe_path(m.group()), arg) if isinstance(arg, str) else arg
                    for arg in record.args
                )
        except Exception:  # noqa: BLE001 — a log line must never be lost to its filter
            pass
        return True
