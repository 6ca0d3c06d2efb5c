"""The reporter's "My stories" page with many stories: a page at a time, newest first, and
the same number of queries however many stories there are (the impact and transcription
panels are fetched for the whole page at once)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions import selectors as action_selectors
from actions import services as action_services
from tests import factories
from tests.actions.conftest import status, world_fixture  # noqa: F401 — the `world` fixture

pytestmark = pytest.mark.slow


def _url(project, page=None):
    url = reverse("stories:my_stories", args=[project.slug])
    return f"{url}?page={page}" if page else url


def _get(client, project, page=None) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(project, page))
    assert response.status_code == 200
    return response.content.decode(), len(queries)


@pytest.fixture
def action(world):
    made = action_services.action_create_from_proposal(proposal_id=world.proposal.pk)
    return action_services.action_edit(
        action=made,
        user=world.manager,
        expected_version=made.version,
        owner=world.manager,
        status=status("in_progress"),
    )


def _add_stories(world, count, start=0):
    for number in range(start, start + count):
        factories.story(
            world.project,
            world.reporter,
            title=f"Story number {number}",
            text="Hello",
            submit=number % 2 == 0,
        )


def test_the_page_costs_the_same_queries_with_5_or_30_stories(world, action, client):
    client.force_login(world.reporter)
    _add_stories(world, 3)  # with the world's two: 5 stories, one page
    few_html, few = _get(client, world.project)
    assert "Story number 2" in few_html and "1 action came from this story" in few_html
    _add_stories(world, 25, start=3)  # 30 stories: a full first page, and a second
    many_html, many = _get(client, world.project)
    assert many_html.count('class="card"') == 20
    assert "Older stories (page 2)" in many_html
    assert many == few, f"{few} queries with 5 stories, {many} with 30"
    older_html, older = _get(client, world.project, page=2)
    assert older == few
    # The world's stories are the oldest: on page 2, with what came of them.
    assert "No flat" in older_html and "No job" in older_html
    assert older_html.count("1 action came from this story") == 1


def test_pages_go_newest_first_with_plain_links(world, client):
    _add_stories(world, 23)  # 25 in all
    client.force_login(world.reporter)
    first, _ = _get(client, world.project)
    assert "Story number 22" in first and "Story number 3" in first
    assert "Story number 2<" not in first and "No flat" not in first
    assert "page 1 of 2 (25 stories)" in first
    assert 'href="?page=2"' in first and "Older stories (page 2)" in first
    assert "Newer stories" not in first
    second, _ = _get(client, world.project, page=2)
    assert "Story number 2<" in second and "No flat" in second and "Story number 3" not in second
    assert 'href="?page=1"' in second and "Newer stories (page 1)" in second
    assert "Older stories" not in second
    # A page that is not there shows the nearest one, never an error.
    assert "No flat" in _get(client, world.project, page=99)[0]
    assert "Story number 22" in _get(client, world.project, page="nonsense")[0]


def test_the_short_impact_line_matches_the_full_trail(world, action, client):
    client.force_login(world.reporter)
    html, _ = _get(client, world.project)
    for story in (world.housing_story, world.work_story):
        impact = action_selectors.story_impact(user=world.reporter, story_id=story.pk)
        assert bool(impact["actions"]) == (story == world.housing_story)
    assert html.count("1 action came from this story") == 1
    assert "Pub" not in html  # another reporter's story, with the same action
    client.force_login(world.other_reporter)
    theirs, _ = _get(client, world.project)
    assert "Pub" in theirs and "No flat" not in theirs
    assert "action came from this story" not in theirs  # their stories were not quoted
