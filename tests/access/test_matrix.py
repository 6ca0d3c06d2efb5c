"""The access matrix: every route the site answers, asked by the public, project A's reporter
(who owns the story), project B's reporter, A's facilitator, A's manager and a data steward,
against the table in tests/access/matrix.py. Every response is also read for the other
project's words: nobody may be shown what is not theirs to see."""

import pytest
from django.http import HttpResponse
from django.urls import include, path

from stories import views as stories_views
from tests.access import matrix
from tests.access.arguments import post_data, url_for
from tests.access.harness import VIEWERS, ask, body_text, foreign_markers, login_paths, outcome
from tests.access.routes import all_routes, walk

ROUTES = all_routes()


def test_every_route_has_an_expected_answer():
    problems = matrix.coverage_problems(ROUTES)
    assert not problems, "\n".join(problems)


def _fake_view(request, **kwargs):
    return HttpResponse("")


def test_a_route_added_without_an_entry_fails_the_suite():
    """Adding a route to our apps (or a package's route no family covers) without saying in
    the table who may open it is reported, with what to do."""
    added = list(
        walk(
            [
                path(
                    "",
                    include(
                        (
                            [path("stories/<int:story_id>/secret/", _fake_view, name="secret")],
                            "stories",
                        )
                    ),
                ),
                path("storyloom/report/", _fake_view, name="storyloom_new_report"),
                path("thirdparty/<int:pk>/", _fake_view, name="thirdparty_thing"),
                # Our code under a name that looks like Wagtail's still needs its own entry.
                path("admin/mine/", stories_views.serve_recording, name="wagtailadmin_mine"),
            ]
        )
    )
    problems = "\n".join(matrix.coverage_problems(ROUTES + added))
    assert "stories:secret(story_id)" in problems
    assert "storyloom_new_report" in problems
    assert "thirdparty_thing(pk)" in problems
    assert "wagtailadmin_mine" in problems
    assert "needs its own entry" in problems
    # ...and an entry for a route that is gone is reported too.
    matrix.EXPECTED["stories:gone"] = matrix.Expect("404 404 404 404 404 404")
    try:
        assert "stories:gone: in tests/access/matrix.py but no such route" in (
            matrix.coverage_problems(ROUTES)
        )
    finally:
        del matrix.EXPECTED["stories:gone"]


def test_routes_are_read_from_the_resolver_with_their_arguments():
    by_key = {route.key: route for route in ROUTES}
    assert "transcription:clip_media(clip_id)" in by_key
    assert by_key["transcription:story_captions(story_id,fmt)"].converters == (
        ("story_id", "IntConverter"),
        ("fmt", "StringConverter"),
    )
    compare = by_key["wagtailadmin_pages:revisions_compare(pk,revision_id_a,revision_id_b)"]
    assert compare.converters[0] == ("pk", "regex")
    assert "<unnamed> admin/^.*/$" in by_key  # Wagtail's catch-all, which has no name


def _params():
    """Our routes, and the exceptions in the families, in the quick suite; the hundreds of
    Wagtail's own (family rules) with the slow tests."""
    for route in ROUTES:
        family = isinstance(matrix.expectation_for(route), matrix.Family)
        yield pytest.param(route, id=route.key, marks=[pytest.mark.slow] if family else [])


@pytest.mark.parametrize("route", list(_params()))
def test_route_answers_each_viewer_as_the_table_says(route, world, clients):
    expect = matrix.expectation_for(route)
    if expect is None:
        pytest.fail(f"{route.key} has no entry: see test_every_route_has_an_expected_answer")
    url = url_for(route, world.a)
    logins = login_paths()
    methods = ["GET"] + (["POST"] if getattr(expect, "post", None) else [])
    wrong, shown = [], []
    for method in methods:
        for viewer in VIEWERS:
            data = post_data(route, world.a) if method == "POST" else None
            response = ask(clients[viewer], method, url, data)
            got = outcome(response, logins)
            if not expect.allows(method, viewer, got):
                wrong.append(f"{method} as {viewer}: {got}, expected {expect.word(method, viewer)}")
            if getattr(expect, "public", False):
                continue
            body = body_text(response)
            shown += [
                f"{method} as {viewer}: shows '{marker}' (the other project's)"
                for marker in foreign_markers(viewer, world)
                if marker.lower() in body
            ]
    assert not wrong and not shown, f"{url}\n" + "\n".join(wrong + shown)
