"""The curation pages in the Wagtail admin: who sees what, and each action through a POST."""

from html import escape

import pytest
from django.urls import reverse

from tests import factories
from tests.factories import PASSWORD
from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import services
from themes.models import RunStatus, Theme, ThemeRun
from transcription.models import Segment


@pytest.fixture
def run(project, reporter, steward, facilitator):
    analysed_story(project, reporter, steward, HOUSING, teller="Ann")
    analysed_story(project, reporter, steward, WORK, teller="Bob", role="staff")
    analysed_story(project, reporter, steward, DRINK, teller="Cat")
    started = services.theme_run_start(project=project, user=facilitator, enqueue=False)
    return services.theme_run_execute(run_id=started.pk, engine=FakeEngine())


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _theme(run, name):
    return Theme.objects.get(run=run, auto_label=f"{name}, auto")


def _action(project, theme, action):
    return reverse("themes_admin:theme_action", args=[project.pk, theme.pk, action])


def test_the_themes_page_shows_themes_quotes_and_who_is_heard(client, project, facilitator, run):
    _login(client, facilitator)
    menu = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("themes_admin:index") in menu
    page = client.get(reverse("themes_admin:project", args=[project.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "housing, auto" in html and "Find themes again" in html
    assert escape(HOUSING[0]) in html  # a quote
    assert "Only staff raised this" in html  # the work theme: only Bob, staff
    assert "Only people using the service raised this" in html


def test_a_facilitator_renames_hides_merges_moves_and_pins(client, project, facilitator, run):
    _login(client, facilitator)
    housing, work, drink = (_theme(run, n) for n in ("housing", "work", "drink"))
    response = client.post(_action(project, housing, "rename"), {"label": "A place to live"})
    assert response.status_code == 302
    client.post(_action(project, drink, "hide"))
    client.post(_action(project, housing, "merge"), {"themes": [work.pk]})
    segment = Segment.objects.get(text=DRINK[0])
    client.post(_action(project, drink, "move"), {"segment": segment.pk, "to": housing.pk})
    client.post(_action(project, housing, "pin"), {"segment": segment.pk})

    housing.refresh_from_db()
    assert housing.label == "A place to live" and housing.size == 7
    assert housing.assignments.get(segment=segment).pinned
    page = client.get(reverse("themes_admin:project", args=[project.pk])).content.decode()
    assert "Hidden themes (1)" in page
    detail = client.get(reverse("themes_admin:theme", args=[project.pk, housing.pk]))
    assert "Unpin" in detail.content.decode()


def test_managers_read_but_cannot_change(client, project, manager, run):
    _login(client, manager)
    housing = _theme(run, "housing")
    page = client.get(reverse("themes_admin:project", args=[project.pk])).content.decode()
    assert "housing, auto" in page and "Rename" not in page and "Find themes" not in page
    refused = client.post(_action(project, housing, "rename"), {"label": "x"}, follow=True)
    assert refused.redirect_chain[0][1] == 303
    assert escape(services.NO_CURATE_MESSAGE) in refused.content.decode()
    run_url = reverse("themes_admin:run_start", args=[project.pk])
    assert client.post(run_url).status_code == 303
    housing.refresh_from_db()
    assert housing.label == "" and not ThemeRun.objects.exclude(pk=run.pk).exists()


def test_other_projects_are_not_found(client, project, other_project, run):
    outsider = factories.user_with_role("facilitator", other_project, username="olly")
    _login(client, outsider)
    housing = _theme(run, "housing")
    for url in [
        reverse("themes_admin:project", args=[project.pk]),
        reverse("themes_admin:theme", args=[project.pk, housing.pk]),
        reverse("themes_admin:run_status", args=[project.pk]),
        reverse("themes_admin:chart", args=[project.pk, "map", "png"]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(_action(project, housing, "rename"), {"label": "x"}).status_code == 404
    # Their own project's page does not offer this one.
    index = client.get(reverse("themes_admin:index")).content.decode()
    assert project.title not in index and other_project.title in index


def test_find_themes_queues_a_run_and_the_status_endpoint_reports_it(
    client, project, reporter, django_capture_on_commit_callbacks
):
    _login(client, reporter)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("themes_admin:run_start", args=[project.pk]))
    assert response.status_code == 302 and len(callbacks) == 1
    status = client.get(reverse("themes_admin:run_status", args=[project.pk])).json()
    assert status["status"] == RunStatus.QUEUED and status["finished"] is False
    run = ThemeRun.objects.get(project=project)
    services.theme_run_execute(run_id=run.pk, engine=FakeEngine())
    status = client.get(reverse("themes_admin:run_status", args=[project.pk])).json()
    assert status["finished"] and status["message"] == services.TOO_LITTLE_MESSAGE
    page = client.get(reverse("themes_admin:project", args=[project.pk])).content.decode()
    assert "too little material" in page


def _themes_page_queries(client, project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("themes_admin:project", args=[project.pk]))
    assert page.status_code == 200
    return len(queries.captured_queries), page.content.decode()


def test_the_themes_page_asks_the_same_number_of_queries_however_many_themes(
    client, project, reporter, steward, facilitator, run
):
    from tests.themes.helpers import FAMILY

    _login(client, facilitator)
    before, _ = _themes_page_queries(client, project)
    analysed_story(project, reporter, steward, FAMILY, teller="Dan")
    analysed_story(project, reporter, steward, HOUSING + WORK, teller="Eve", title="More")
    started = services.theme_run_start(project=project, user=facilitator, enqueue=False)
    services.theme_run_execute(run_id=started.pk, engine=FakeEngine())
    after, html = _themes_page_queries(client, project)
    assert "family, auto" in html and escape(FAMILY[0]) in html
    assert after <= before


@pytest.mark.parametrize("who", ["facilitator", "manager"])
def test_the_themes_page_quotes_are_each_themes_best_quotes(
    project, reporter, steward, facilitator, manager, run, who
):
    from themes import selectors

    viewer = {"facilitator": facilitator, "manager": manager}[who]
    # Bob does not agree to be quoted: managers do not see his words.
    analysed_story(
        project,
        reporter,
        steward,
        WORK,
        teller="Bob",
        role="staff",
        title="No quoting",
        scopes={"record", "transcribe", "analyse"},
    )
    started = services.theme_run_start(project=project, user=facilitator, enqueue=False)
    services.theme_run_execute(run_id=started.pk, engine=FakeEngine())
    themes = list(selectors.themes_visible_to(user=viewer, project=project))
    work = next(t for t in themes if t.auto_label == "work, auto")
    services.quote_pin(
        theme=work,
        segment=work.assignments.order_by("probability").first().segment,
        user=facilitator,
    )
    batch = selectors.quotes_for_themes(user=viewer, project=project, themes=themes, limit=2)
    for theme in themes:
        one = selectors.theme_quotes(user=viewer, theme=theme, limit=2)
        assert [(q.pk, q.quote_text) for q in batch[theme.pk]] == [
            (q.pk, q.quote_text) for q in one
        ]
    assert any(q.pinned for q in batch[work.pk])
