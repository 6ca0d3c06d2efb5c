"""Hostile text: script in a title, a pseudonym, a consent note or a transcript shows as text
on every page that shows it, front end and admin; spreadsheet formulas in exports are
defused; odd query strings and very long searches get a page or a 400 in bounded time,
never a 500."""

import csv
import io
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from stories import services as story_services
from stories.models import CONSENT_SCOPES
from tests import factories
from transcription import services as transcription

SCRIPT = '<script>alert("xss")</script>'
IMG = "<img src=x onerror=alert(1)>"
PAYLOAD = f"{SCRIPT}{IMG}"
ESCAPED = "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;"


@pytest.fixture
def hostile_story(project, reporter):
    """A written story whose every piece of text is a script: title, pseudonym, summary,
    place, tags, consent note and (so) its transcript, with the transcript made by the
    real job."""
    story = factories.story(
        project,
        reporter,
        title=f"Title {PAYLOAD}",
        text=f"First {PAYLOAD}\n\nSecond paragraph {SCRIPT}.",
        storyteller_name=f"Teller {PAYLOAD}",
        summary=f"Summary {PAYLOAD}",
        location=f"Place {IMG}",
        tags=[f"tag{IMG}"],
    )
    story_services.consent_record(
        story=story,
        user=reporter,
        consent=story_services.ConsentInput(scopes=set(CONSENT_SCOPES), note=f"Note {PAYLOAD}"),
    )
    story_services.story_submit(story=story, user=reporter)
    job = transcription.job_enqueue(story=story)
    transcription.job_run(job_id=job.pk)
    return story


def assert_shown_as_text(response):
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert SCRIPT not in page and "<img src=x" not in page
    return page


def test_front_end_pages_show_scripts_as_text(client, reporter, project, hostile_story):
    client.force_login(reporter)
    status = assert_shown_as_text(
        client.get(reverse("stories:story_status", args=[hostile_story.pk]))
    )
    assert f"Title {ESCAPED}" in status  # the title
    assert f"First {ESCAPED}" in status  # the transcript
    listing = assert_shown_as_text(client.get(reverse("stories:my_stories", args=[project.slug])))
    assert ESCAPED in listing
    form = assert_shown_as_text(client.get(reverse("stories:capture", args=[project.slug])))
    assert f"Teller {ESCAPED}" in form  # the pseudonym in the storyteller list
    editor = assert_shown_as_text(
        client.get(reverse("transcription:editor", args=[hostile_story.pk]))
    )
    assert f"First {ESCAPED}" in editor


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/stories/",
        "/admin/stories/?q=Title",
        "/admin/pages/search/?q=Title",
        "/admin/storytellers/",
        "/admin/consent/",
        "/admin/transcription_jobs/",
        "/admin/reports/site-history/",
        "{edit}",
        "{history}",
        "{consent}",
        "{storyteller}",
    ],
)
def test_admin_pages_show_scripts_as_text(client, steward, hostile_story, url):
    consent = hostile_story.consents.order_by("-version").first()
    url = url.format(
        edit=f"/admin/pages/{hostile_story.pk}/edit/",
        history=f"/admin/pages/{hostile_story.pk}/history/",
        consent=f"/admin/consent/inspect/{consent.pk}/",
        storyteller=f"/admin/storytellers/edit/{hostile_story.storyteller_id}/",
    )
    client.force_login(steward)

    page = assert_shown_as_text(client.get(url))

    if url not in ("/admin/transcription_jobs/", "/admin/") and "?q=" not in url:
        assert "&lt;script&gt;" in page or "\\u003Cscript\\u003E" in page


FORMULAS = ['=HYPERLINK("http://x.invalid","Open")', "+1+1", "-2+3", "@SUM(A1:A9)"]


def export_csv(kind, project):
    out = io.StringIO()
    call_command("export", kind, "--project", project.slug, "--format", "csv", stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_exports_never_start_a_cell_with_a_formula(project, reporter, formula):
    story = factories.story(
        project,
        reporter,
        title=formula,
        text=f"{formula}\n\nAn ordinary sentence.",
        storyteller_name=formula,
    )
    story_services.story_submit(story=story, user=reporter)
    transcription.job_run(job_id=transcription.job_enqueue(story=story).pk)

    (story_row,) = export_csv("stories", project)
    segment_rows = export_csv("segments", project)

    assert story_row["title"] == "'" + formula and story_row["storyteller"] == "'" + formula
    assert segment_rows[0]["story_title"] == "'" + formula
    assert segment_rows[0]["text"] == "'" + formula
    for row in [story_row, *segment_rows]:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_wagtail_admin_csv_exports_never_start_a_cell_with_a_formula(
    client, steward, project, reporter
):
    factories.story(project, reporter, title=FORMULAS[0], storyteller_name="Wrenfield")
    factories.story(project, reporter, title=FORMULAS[3], storyteller_name=FORMULAS[1])
    client.force_login(steward)

    response = client.get("/admin/reports/site-history/", {"export": "csv"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    names = [row["Name"] for row in rows]
    assert "'" + FORMULAS[0] in names and "'" + FORMULAS[3] in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)
    # Storytellers are logged by number, never by name (the log outlives their consent).
    assert not any("Wrenfield" in name or FORMULAS[1] in name for name in names)


# --- Query strings ---------------------------------------------------------------------------

LOOKUPS = [
    "reporter__password__startswith=zzz",
    "story__reporter__password__startswith=zzz",
    "storyteller__contact_details__icontains=zzz",
    "ordering=reporter__password",
    "ordering=-storyteller__contact_details",
    "project=not-a-number&status=<script>&storyteller_role=%00",
    "p=99999999999999999999999999",
    "p=-1",
    "q=%00",
    "q=" + "a" * 10_000,
    "q=" + "+".join(f"w{n}" for n in range(2_000)),
    "q=" + "%22" * 500 + "*(" * 500,
]
ADMIN_LISTINGS = [
    "/admin/stories/",
    "/admin/storytellers/",
    "/admin/consent/",
    "/admin/erasures/",
    "/admin/transcription_jobs/",
    "/admin/pages/search/",
    "/admin/reports/site-history/",
]


@pytest.mark.parametrize("listing", ADMIN_LISTINGS)
def test_admin_listings_ignore_lookups_and_survive_long_searches(
    client, steward, project, reporter, listing
):
    factories.story(project, reporter, title="Visible story")
    client.force_login(steward)

    for query in LOOKUPS:
        started = time.monotonic()
        response = client.get(f"{listing}?{query}")
        elapsed = time.monotonic() - started
        assert response.status_code in (200, 400, 404), (listing, query[:60], response.status_code)
        assert elapsed < 10, (listing, query[:60], elapsed)
        if listing == "/admin/stories/" and query.startswith(("reporter__", "story__")):
            # The key is not a filter: nothing was narrowed by the reporter's password.
            assert "Visible story" in response.text


def test_front_end_lists_ignore_lookups(client, reporter, project):
    factories.story(project, reporter, title="Visible story")
    client.force_login(reporter)
    urls = (
        reverse("stories:my_stories", args=[project.slug]),
        reverse("stories:capture", args=[project.slug]),
        reverse("transcription:clip_index"),
    )
    for query in LOOKUPS:
        for url in urls:
            response = client.get(f"{url}?{query}")
            assert response.status_code in (200, 400, 404), (url, query[:60])
        listing = client.get(f"{urls[0]}?{query}")
        assert listing.status_code == 400 or "Visible story" in listing.text


@pytest.mark.parametrize(
    "query", ["a" * 201, " ".join(["word"] * 33), "+".join(f"w{n}" for n in range(200))]
)
def test_a_search_longer_than_anyone_types_gets_400_with_a_plain_message(client, steward, query):
    client.force_login(steward)
    for listing in ("/admin/stories/", "/admin/pages/search/"):
        response = client.get(listing, {"q": query})
        assert response.status_code == 400
        assert response.text == (
            "This search is too long. Please search for at most 32 words (200 letters)."
        )


def test_searches_up_to_the_limit_still_work(client, steward):
    client.force_login(steward)
    for query in ("waiting room", " ".join(f"w{n}" for n in range(32)), "a" * 200):
        assert client.get("/admin/stories/", {"q": query}).status_code == 200


def test_wagtail_admin_spreadsheet_exports_hold_no_formulas(client, steward, project, reporter):
    from io import BytesIO

    from openpyxl import load_workbook

    factories.story(project, reporter, title=FORMULAS[0])
    client.force_login(steward)

    response = client.get("/admin/reports/site-history/", {"export": "xlsx"})

    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "'" + FORMULAS[0] in values
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
