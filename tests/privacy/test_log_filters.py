"""The server logs name no page by its slug (made from its title) and no document by its
file name; other paths are kept as they are."""

import logging

from cms.log_filters import HidePagePaths, safe_path


def test_page_and_document_paths_keep_only_their_first_part():
    assert safe_path("/probation-voices/stories/ann-s-story/") == "/probation-voices/…"
    assert safe_path("/documents/12/ann-interview.pdf") == "/documents/…"
    assert safe_path("/probation-voices/") == "/probation-voices/"


def test_other_paths_are_kept():
    assert safe_path("/admin/pages/3/edit/") == "/admin/pages/3/edit/"
    assert safe_path("/capture/probation-voices/") == "/capture/probation-voices/"


def test_a_refused_request_is_logged_without_the_slug():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/probation-voices/stories/ann-s-story/",),
        None,
    )
    assert HidePagePaths().filter(record)
    assert record.getMessage() == "Not Found: /probation-voices/…"
