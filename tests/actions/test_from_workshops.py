"""Accepted proposals become actions (once); linked themes are followed through re-runs,
merges and removals, and the change is said plainly."""

import pytest
from django.core.exceptions import ValidationError

from actions import selectors, services
from actions.models import Action
from tests.actions.conftest import proposal, theme_run, themes_by_name
from tests.themes.helpers import FakeEngine
from themes import services as theme_services
from themes.models import Theme
from workshops.models import Decision
from workshops.signals import proposal_accepted


def test_an_accepted_proposal_becomes_one_action_however_often_it_is_announced(world):
    proposal_accepted.send(sender=None, proposal_id=world.proposal.pk, user=world.facilitator)
    proposal_accepted.send(sender=None, proposal_id=world.proposal.pk, user=world.facilitator)
    services.action_create_from_proposal(proposal_id=world.proposal.pk, user=world.facilitator)
    action = Action.objects.get(proposal=world.proposal)
    assert action.title == "Help with housing on release"
    assert action.created_from_proposal
    assert (action.status.key, action.progress) == ("agreed", 10)
    assert action.start_date == world.workshop.date
    assert list(action.themes.all()) == [world.themes["housing"]]
    assert action.created_by == world.facilitator
    assert action.needs_new_owner  # nobody owns it yet: a manager must take it on
    assert action.revisions.count() == 1


def test_a_proposal_not_accepted_makes_no_action(world):
    deferred = proposal(world.workshop, title="Later", decision=Decision.DEFERRED)
    proposal_accepted.send(sender=None, proposal_id=deferred.pk, user=world.facilitator)
    proposal_accepted.send(sender=None, proposal_id=999999, user=world.facilitator)
    assert not Action.objects.exists()


def test_a_second_action_for_the_same_proposal_can_still_be_made_by_hand(world):
    first = services.action_create_from_proposal(proposal_id=world.proposal.pk)
    by_hand = services.action_create(
        project=world.project, user=world.manager, title="Part two", proposal=world.proposal
    )
    assert first.pk != by_hand.pk
    assert services.action_create_from_proposal(proposal_id=world.proposal.pk) == first


def test_linked_themes_survive_a_rerun(world):
    action = services.action_create_from_proposal(proposal_id=world.proposal.pk)
    old_theme = world.themes["housing"]
    theme_run(world.project, world.facilitator, FakeEngine())
    new_theme = themes_by_name(world.project)["housing"]
    assert new_theme.pk != old_theme.pk
    (linked,) = selectors.linked_themes(action)
    assert linked.theme == new_theme
    assert linked.note == ""
    assert selectors.linked_themes_for([action]) == {action.pk: [linked]}  # the dashboard's way


def test_a_merged_theme_is_followed_and_said_so(world):
    action = services.action_create(
        project=world.project, user=world.manager, title="Jobs", themes=[world.themes["work"]]
    )
    theme_services.theme_merge(
        themes=[world.themes["work"]], into=world.themes["housing"], user=world.facilitator
    )
    (linked,) = selectors.linked_themes(action)
    assert linked.theme == world.themes["housing"]
    assert "was merged into" in linked.note
    assert selectors.linked_themes_for([action]) == {action.pk: [linked]}  # the dashboard's way
    figures = selectors.dashboard(user=world.manager, project=world.project)
    counts = {theme.auto_label.split(",")[0]: total for theme, total, _ in figures["by_theme"]}
    assert counts["housing"] == 1
    assert "work" not in counts  # merged away
    assert [note for _, note in figures["theme_notes"]] == [linked.note]


def test_a_theme_the_next_run_does_not_find_is_said_to_be_gone(world):
    action = services.action_create(
        project=world.project,
        user=world.manager,
        title="Family days",
        themes=[world.themes["family"]],
    )
    # The family story is withdrawn from analysis: the next run has no family theme.
    from stories.services import consent_withdraw

    family_story = Theme.objects.get(pk=world.themes["family"].pk).assignments.first().story
    consent_withdraw(story=family_story, keep={"record"}, user=world.steward)
    theme_run(world.project, world.facilitator, FakeEngine())
    (linked,) = selectors.linked_themes(action)
    assert linked.theme is None
    assert "no longer one of the themes" in linked.note
    assert selectors.linked_themes_for([action]) == {action.pk: [linked]}  # the dashboard's way
    for trace in (
        selectors.action_trace(user=world.manager, action=action),
        selectors.action_trace_summary(user=world.manager, action=action),  # the action's page
    ):
        assert trace["themes"][0]["theme"] is None
        assert trace["notes"] == [linked.note]


def test_themes_of_another_project_cannot_be_linked(world):
    from tests import factories

    other = factories.project(title="Elsewhere", slug="elsewhere")
    foreign = Theme.objects.create(
        run=world.themes["housing"].run, project=other, key=99, auto_label="elsewhere"
    )
    with pytest.raises(ValidationError) as refused:
        services.action_create(
            project=world.project, user=world.manager, title="Mixed", themes=[foreign]
        )
    assert "another project" in refused.value.message_dict["themes"][0]


def test_a_split_theme_is_followed_to_its_parts(world):
    action = services.action_create(
        project=world.project, user=world.manager, title="Homes", themes=[world.themes["housing"]]
    )
    theme_services.theme_merge(
        themes=[world.themes["work"]], into=world.themes["housing"], user=world.facilitator
    )
    parts = theme_services.theme_split(
        theme=Theme.objects.get(pk=world.themes["housing"].pk),
        user=world.facilitator,
        engine=FakeEngine(),
    )
    (linked,) = selectors.linked_themes(action)
    assert linked.theme is None and set(linked.parts) == set(parts)
    assert "was split into" in linked.note
    assert selectors.linked_themes_for([action]) == {action.pk: [linked]}  # the dashboard's way
    trace = selectors.action_trace_summary(user=world.manager, action=action)
    assert {t["theme"] for t in trace["themes"]} == set(parts)
    assert sum(t["stories"] for t in trace["themes"]) == 2  # the housing and the work story
