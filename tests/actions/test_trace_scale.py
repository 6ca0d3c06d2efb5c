"""The action's page stays the same size however many stories are behind its themes: it
shows counts and the first few stories, and links to all of them, 50 to a page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions import selectors, services
from tests.actions.conftest import NO_PUBLISH
from tests.themes.helpers import analysed_story
from themes.models import ThemeAssignment
from transcription.models import Segment

pytestmark = pytest.mark.slow


def add_housing_stories(world, count, *, start=0, scopes=None):
    """`count` more stories in the housing theme, told by three storytellers in turn."""
    theme = world.themes["housing"]
    for number in range(start, start + count):
        story = analysed_story(
            world.project,
            world.reporter,
            world.steward,
            [f"Story {number}: the council had no flat for me."],
            title=f"Flat story {number}",
            teller=f"Teller {number % 3}",
            scopes=scopes,
        )
        segment = Segment.objects.get(story=story, transcript__is_current=True)
        ThemeAssignment.objects.create(theme=theme, segment=segment, story=story)


@pytest.fixture
def action(world):
    return services.action_create_from_proposal(proposal_id=world.proposal.pk)


def page_of(client, action):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("actions_admin:detail", args=[action.pk]))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_action_page_does_not_grow_with_its_stories(world, action, client):
    client.force_login(world.manager)
    add_housing_stories(world, 5)
    few_queries, few_html = page_of(client, action)
    add_housing_stories(world, 35, start=5)
    many_queries, many_html = page_of(client, action)
    assert many_queries == few_queries
    assert len(many_html) < len(few_html) * 1.05
    # 1 original housing story + 40 more, from Ann and three more storytellers.
    assert "41 stories from 4 storytellers" in many_html
    assert "See all 41 stories behind this action" in many_html
    assert many_html.count("A story told by person using the service") == (
        selectors.TRACE_STORIES_SHOWN
    )


def test_the_summary_counts_consent(world, action):
    add_housing_stories(world, 4)
    add_housing_stories(world, 2, start=4, scopes=NO_PUBLISH)
    add_housing_stories(world, 3, start=6, scopes={"record", "transcribe"})
    trace = selectors.action_trace_summary(user=world.manager, action=action)
    (theme,) = trace["themes"]
    assert theme["stories"] == 10
    assert theme["storytellers"] == 4  # Ann and Teller 0, 1, 2
    assert theme["stories_still_analysed"] == 7  # 3 agreed only to record and transcribe
    assert trace["story_count"] == 10
    assert trace["storyteller_count"] == 4
    assert trace["publishable_stories"] == 5  # the housing story and the first 4
    assert len(trace["stories"]) == 10 and trace["more_stories"] is False
    # The quotes still follow consent: none from a story that did not agree to quoting.
    for quote in theme["quotes"]:
        assert quote["story"]["consent"]["quote"] is True


def test_all_the_stories_are_on_pages_of_fifty(world, action, client):
    add_housing_stories(world, 55)
    client.force_login(world.manager)
    url = reverse("actions_admin:stories", args=[action.pk])
    first = client.get(url).content.decode()
    assert "56 stories behind this action; page 1 of 2" in first
    assert first.count("A story told by person using the service") == 50
    assert "Agreed to: Record my story" in first  # consent at each story
    assert "Flat story" not in first  # a manager may not open the stories: no titles
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count("A story told by person using the service") == 6
    assert "Previous page" in second
    # The steward, who may open the stories, sees their titles and links.
    client.force_login(world.steward)
    steward = client.get(url, {"page": 2}).content.decode()
    assert "Flat story 54" in steward
    # Back from the action's page to every story that prompted it.
    page = client.get(reverse("actions_admin:detail", args=[action.pk])).content.decode()
    assert url in page
