"""The public "You said, we did" page: only what storytellers agreed to share publicly."""

import pytest
from django.urls import reverse

from actions import services
from actions.models import ActionVisibility
from stories.services import consent_withdraw
from tests.actions.conftest import NO_PUBLISH, make_action, status
from tests.themes.helpers import DRINK, FAMILY, HOUSING, WORK, analysed_story
from themes import services as theme_services


def public(client, project):
    return client.get(reverse("actions:you_said_we_did", args=[project.slug]))


@pytest.fixture
def named(world):
    """People named the housing, work and drink themes in their own words."""
    for name, label in [
        ("housing", "Somewhere to live"),
        ("work", "Getting a job"),
        ("drink", "Drink and drugs"),
    ]:
        theme_services.theme_rename(theme=world.themes[name], label=label, user=world.facilitator)
    return world


@pytest.fixture
def public_action(named):
    return make_action(
        named,
        title="Internal: housing officer at the hub",
        themes=[named.themes["housing"]],
        status=status("in_progress"),
        public_summary="A housing officer now comes to the hub every Tuesday.",
        visibility=ActionVisibility.PUBLIC,
    )


def test_it_shows_what_was_heard_and_done(named, public_action, client):
    response = public(client, named.project)
    assert response.status_code == 200
    html = response.content.decode()
    assert "You said, we did" in html
    assert "Somewhere to live" in html
    assert any(line in html for line in HOUSING)  # a quote from a story that may be published
    assert "A housing officer now comes to the hub every Tuesday." in html
    assert "We are working on it" in html
    assert "Internal: housing officer" not in html  # the public summary, not the team's title
    assert "Because you told us about: Somewhere to live" in html
    assert "actions/public.css" in html  # print styles


def test_nothing_from_stories_without_consent_to_publish(named, public_action, client):
    html = public(client, named.project).content.decode()
    # The work story's storyteller did not agree to publishing: not its theme, not its words.
    assert "Getting a job" not in html
    for line in WORK:
        assert line not in html
    # A theme no person has named is never shown by the computer's key words.
    assert "family" not in html.lower()
    for line in FAMILY:
        assert line not in html
    # Pseudonyms and story titles never appear.
    for private in ["Ann", "Bob", "Cat", "No flat", "No job"]:
        assert f">{private}<" not in html and f" {private} " not in html


def test_the_page_shows_nothing_without_consent_to_publish(named, public_action, client):
    for story in [named.housing_story, named.drink_story]:
        consent_withdraw(story=story, keep=NO_PUBLISH, user=named.steward)
    assert public(client, named.project).status_code == 404  # the public learn nothing
    client.force_login(named.manager)
    html = public(client, named.project).content.decode()
    assert "There is nothing on this page yet." in html
    assert "Somewhere to live" not in html
    assert "A housing officer now comes to the hub" not in html
    for line in HOUSING + DRINK + WORK:
        assert line not in html


def test_unapproved_stories_and_team_only_actions_stay_off(named, public_action, client):
    unapproved = analysed_story(
        named.project,
        named.reporter,
        named.steward,
        ["The hostel had no flat for me and the rent was too high for housing."],
        title="Waiting",
        teller="Eve",
        approve=False,
    )
    make_action(
        named,
        title="Team only",
        themes=[named.themes["drink"]],
        public_summary="Secret plan for the drinks team.",
    )
    html = public(client, named.project).content.decode()
    assert "The hostel had no flat for me" not in html
    assert "Secret plan" not in html
    assert unapproved.title not in html


def test_a_manager_updates_an_action_and_the_public_page_changes(named, public_action, client):
    services.action_post_update(
        action=public_action, user=named.manager, text="All done", status=status("done")
    )
    html = public(client, named.project).content.decode()
    assert "Done" in html
    assert "Finished" in html


def test_an_unknown_project_is_a_404(client, db):
    assert client.get("/you-said-we-did/nowhere/").status_code == 404


def test_the_project_page_links_to_the_public_page(named, client):
    client.force_login(named.manager)

    page = client.get(named.project.url).content.decode()

    assert f'href="{reverse("actions:you_said_we_did", args=[named.project.slug])}"' in page
    assert "You said, we did" in page
