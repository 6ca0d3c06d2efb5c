"""The trace both ways: an action back to its stories (with consent at each step), and a
story forward to what happened because of it (its impact trail)."""

import pytest
from django.http import Http404
from django.urls import reverse

from actions import selectors, services
from stories.services import consent_withdraw
from tests.actions.conftest import segment, status
from tests.themes.helpers import HOUSING


@pytest.fixture
def action(world):
    made = services.action_create_from_proposal(proposal_id=world.proposal.pk)
    return services.action_edit(
        action=made,
        user=world.manager,
        expected_version=made.version,
        owner=world.manager,
        status=status("in_progress"),
        public_summary="Help to find a flat before release.",
    )


def test_an_action_traces_back_to_proposal_workshop_themes_quotes_and_stories(world, action):
    trace = selectors.action_trace(user=world.manager, action=action)
    assert trace["proposal"] == world.proposal
    assert trace["workshop"] == world.workshop
    (theme,) = trace["themes"]
    assert theme["theme"] == world.themes["housing"]
    assert theme["stories"] == 1 and theme["stories_still_analysed"] == 1
    assert {q["text"] for q in theme["quotes"]} <= set(HOUSING)
    (quote,) = trace["quotes"]
    assert quote["text"] == HOUSING[0]
    assert quote["usable"] is True
    assert quote["story"]["consent"]["quote"] is True
    (story,) = trace["stories"]
    # A manager may not open stories: no title, but who told it and what they agreed to.
    assert story["title"] == "" and story["can_open"] is False
    assert story["told_by"] == "Person using the service"
    assert story["consent"]["publish"] is True
    assert trace["publishable_stories"] == 1


def test_the_trace_follows_a_consent_withdrawal(world, action):
    consent_withdraw(story=world.housing_story, keep={"record", "transcribe"}, user=world.steward)
    trace = selectors.action_trace(user=world.manager, action=action)
    (quote,) = trace["quotes"]
    assert quote["usable"] is False
    assert quote["text"] == ""  # the manager no longer sees the words
    assert quote["story"]["consent"]["withdrawn"] is True
    assert trace["themes"][0]["stories_still_analysed"] == 0
    assert trace["themes"][0]["quotes"] == []
    # The steward, who may open the story, still sees what it was, and why it is unusable.
    steward_view = selectors.action_trace(user=world.steward, action=action)
    assert steward_view["quotes"][0]["text"] == HOUSING[0]
    assert steward_view["quotes"][0]["story"]["title"] == "No flat"


def test_the_trace_page_shows_each_step(world, action, client):
    client.force_login(world.manager)
    response = client.get(reverse("actions_admin:detail", args=[action.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in [
        "Help with housing on release",
        "Listening workshop",
        HOUSING[0],
        "Agreed to: Record my story; Turn the recording into text",
        "In progress",
        "1 story from 1 storyteller (1 still agreed to analysis)",
        "1 story from 1 storyteller behind this action; 1 may be shared publicly.",
        "See the stories on their own page",
    ]:
        assert text in page
    assert "No flat" not in page  # the story's title is for those who may open it
    # The list of all the stories leads back to the story, with its consent.
    stories = client.get(reverse("actions_admin:stories", args=[action.pk])).content.decode()
    assert "A story told by person using the service" in stories
    assert "Agreed to: Record my story; Turn the recording into text" in stories
    assert "No flat" not in stories


def test_a_reporter_sees_what_happened_because_of_their_story(world, action, client):
    impact = selectors.story_impact(user=world.reporter, story_id=world.housing_story.pk)
    (item,) = impact["actions"]
    assert item["action"] == action
    assert any("quoted this story" in why for why in item["why"])
    assert any("speaks to the theme" in why for why in item["why"])
    assert impact["proposals"] == [world.proposal]
    assert impact["themes"] == [world.themes["housing"]]
    # On the reporter's own story page:
    client.force_login(world.reporter)
    page = client.get(reverse("stories:story_status", args=[world.housing_story.pk]))
    html = page.content.decode()
    assert "What happened because of this story" in html
    assert "Help to find a flat before release." in html
    assert "We are working on it" in html
    # A story with no action says so plainly.
    nothing = selectors.story_impact(user=world.reporter, story_id=world.work_story.pk)
    assert nothing["actions"] == []


def test_the_impact_trail_is_only_for_those_who_may_see_the_story(world, action, client):
    with pytest.raises(Http404):
        selectors.story_impact(user=world.other_reporter, story_id=world.housing_story.pk)
    with pytest.raises(Http404):
        selectors.story_impact(user=world.manager, story_id=world.housing_story.pk)
    client.force_login(world.other_reporter)
    url = reverse("actions_admin:impact", args=[world.housing_story.pk])
    assert client.get(url).status_code == 404
    client.force_login(world.steward)
    response = client.get(url)
    assert response.status_code == 200
    assert "Help to find a flat before release." in response.content.decode()


def test_a_theme_quote_from_a_story_leads_to_the_action(world):
    """A story that was not quoted, but speaks to the action's theme, is in its trail."""
    action = services.action_create(
        project=world.project,
        user=world.manager,
        title="Pub nights",
        themes=[world.themes["drink"]],
    )
    impact = selectors.story_impact(user=world.other_reporter, story_id=world.drink_story.pk)
    assert [i["action"] for i in impact["actions"]] == [action]
    assert segment(HOUSING[1]).story_id not in {
        s["id"] for s in selectors.action_trace(user=world.steward, action=action)["stories"]
    }
