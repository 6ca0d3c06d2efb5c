"""Another project's things answer 404, never 403: every route that takes an object of
project A (story, transcript line, clip, recording, evidence file, workshop, action, theme,
and the admin's own views of them: page editor, history, revisions, choosers...) asked by
project B's reporter, facilitator and manager. The files and captions are also asked with
HEAD, a byte range and conditional headers; no answer carries an ETag or Last-Modified, and
none shows the other project's words."""

import pytest

from tests.access import matrix
from tests.access.arguments import post_data, url_for
from tests.access.harness import OUTSIDERS, ask, body_text, outcome
from tests.access.routes import all_routes

# Arguments that name a thing of a project, and the object of the world each takes.
OBJECT_ARGUMENTS = {
    "story_id",
    "segment_id",
    "clip_id",
    "media_id",
    "consent_id",
    "update_id",
    "action_id",
    "workshop_id",
    "theme_id",
    "chosen_id",
    "project_id",
    "project_slug",
    "page_id",
    "page_to_move_id",
    "parent_page_id",
    "object_id",
}
PAGE_ARGUMENTS = {"page_id", "page_to_move_id", "parent_page_id", "object_id"}
# `pk` names a project's thing on these (see arguments.PK_BY_NAMESPACE).
PK_NAMESPACES = {
    "storytellers",
    "consent",
    "erasures",
    "transcription_jobs",
    "name_list",
    "wagtailsnippets_actions_action",
    "wagtailsnippetchoosers_actions_action",
    "workshop_theme_chooser",
    "workshop_quote_chooser",
    "workshop_clip_chooser",
    "wagtailadmin_pages",
    "wagtailadmin_api:pages",
}
# Files and captions: asked with HEAD, a byte range and conditional headers as well.
FILE_ROUTES = {
    "stories:recording",
    "stories:consent_evidence",
    "actions:evidence",
    "transcription:clip_media",
    "transcription:clip_captions",
    "transcription:story_captions",
    "workshops:clip_media",
    "workshops:clip_captions",
}
# Routes that take a project's thing but are not about who may see it.
NOT_ASKED = {
    "actions:you_said_we_did": "the public page of a project: anyone may read it",
}
# Routes whose answer is the same for an object that does not exist, so it tells nothing
# about A's. (A POST-only route asked with GET, 405, is judged so too.)
SAME_AS_MISSING = {
    "wagtailadmin_pages:revisions_index": "a plain redirect to the page's history (404 there)",
}
# Known differences, kept as they are (the test fails if they change, so they are looked at
# again): what the outsider gets instead of 404, and why it is left.
KNOWN = {
    "wagtailforms:delete_submissions": (
        "denied",
        "Wagtail's form-submissions view refuses anyone who has no form pages, after looking "
        "the page up (a missing page: 404): it tells that some page has that number, nothing "
        "about it. Storyloom has no form pages; removing wagtail.contrib.forms would end it.",
    ),
}
MISSING = 987654


def _namespace(route) -> str:
    return route.name.rsplit(":", 1)[0] if ":" in route.name else ""


def takes_an_object(route) -> bool:
    if route.name in NOT_ASKED:
        return False
    if OBJECT_ARGUMENTS & set(route.kwargs_names):
        return True
    return "pk" in route.kwargs_names and _namespace(route) in PK_NAMESPACES


def _variants(route):
    """(label, overrides): a page route is asked about the story and about the workshop
    (as the page, or as the parent whose children are listed)."""
    pages = PAGE_ARGUMENTS & set(route.kwargs_names)
    if _namespace(route) in {"wagtailadmin_pages", "wagtailadmin_api:pages"}:
        pages |= {"pk"} & set(route.kwargs_names)
    if not pages:
        yield "", {}
        return
    yield "story", {name: lambda s: s.story.pk for name in pages}
    yield (
        "workshop",
        {
            **{name: lambda s: s.workshop.pk for name in pages},
            "revision_id": lambda s: s.workshop.latest_revision.pk,
        },
    )


OBJECT_ROUTES = [
    pytest.param(route, label, overrides, id=f"{route.key}{'-' + label if label else ''}")
    for route in all_routes()
    if takes_an_object(route)
    for label, overrides in _variants(route)
]


def _url(route, side, overrides):
    values = {name: take(side) for name, take in overrides.items() if name in route.kwargs_names}
    return url_for(route, side, **values)


def _missing_url(route, side, overrides):
    """The same route, naming an object that does not exist."""
    values = {}
    for name in route.kwargs_names:
        if name == "pk" or name in OBJECT_ARGUMENTS - {"project_slug"}:
            values[name] = MISSING
    if "media_id" in values:
        values["media_id"] = "00000000-0000-4000-8000-000000000000"
    return url_for(route, side, **values)


REQUESTS = [
    ("GET", {}),
    ("HEAD", {}),
    ("GET", {"Range": "bytes=0-10"}),
    ("GET", {"If-None-Match": "*"}),
    ("GET", {"If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"}),
]


@pytest.mark.parametrize(("route", "label", "overrides"), OBJECT_ROUTES)
def test_another_projects_thing_answers_404(route, label, overrides, world, clients):
    url = _url(route, world.a, overrides)
    asked = REQUESTS if route.name in FILE_ROUTES else REQUESTS[:1]
    expect = matrix.expectation_for(route)
    posts = bool(getattr(expect, "post", None))
    uniform = SAME_AS_MISSING.get(route.name) or SAME_AS_MISSING.get(_namespace(route))

    def _missing():
        return _missing_url(route, world.a, overrides)

    wrong = []
    for viewer in OUTSIDERS:
        client = clients[viewer]
        for method, headers in asked + ([("POST", {})] if posts else []):
            data = post_data(route, world.a) if method == "POST" else None
            response = ask(client, method, url, data, **headers)
            got = outcome(response, set())
            what = f"{method} {headers or ''} as {viewer}"
            if route.name in KNOWN:
                if got != KNOWN[route.name][0]:
                    wrong.append(f"{what}: {got}, known as {KNOWN[route.name][0]} (see KNOWN)")
            elif got != "404" and (uniform or got == "405"):
                # Refused before any object is looked at (a POST-only route asked with GET):
                # fine if a missing object gets the same answer.
                other = outcome(ask(client, method, _missing(), data, **headers), set())
                if got != other or got.startswith("2"):
                    reason = uniform or "refused before looking"
                    wrong.append(f"{what}: {got}, but {other} for a missing one ({reason})")
            elif got != "404":
                wrong.append(f"{what}: {got}, expected 404")
            for header in ("ETag", "Last-Modified"):
                if header in response:
                    wrong.append(f"{what}: sends {header}")
            if world.a.marker.lower() in body_text(response):
                wrong.append(f"{what}: shows '{world.a.marker}'")
    assert not wrong, f"{url}\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(FILE_ROUTES))
def test_files_seek_but_never_validate(name, world, clients):
    """For those who may have them, files and captions come whole or by range, and never
    with a validator: nothing is cached, nothing answers 304."""
    route = next(r for r in all_routes() if r.name == name)
    url = url_for(route, world.a)
    for method, headers in REQUESTS:
        response = ask(clients["steward"], method, url, **headers)
        assert response.status_code in (200, 206), (url, method, headers, response.status_code)
        assert "ETag" not in response and "Last-Modified" not in response, (url, headers)
        assert "no-store" in response.get("Cache-Control", ""), (url, headers)
        if response.status_code == 206:
            assert response["Content-Range"].startswith("bytes 0-10/"), url
