"""Drafting a pack from the project's themes."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests import factories
from tests.workshops.conftest import DEE_HOUSING
from workshops import selectors, services
from workshops.pack import pick_quotes, resolve_pack


def _body(workshop):
    return list(selectors.latest_version(workshop).body)


def test_the_draft_orders_themes_by_storytellers_and_quotes_different_people(
    workshop, themes, stories, facilitator
):
    from themes import services as theme_services

    blocks = _body(workshop)
    theme_blocks = [b for b in blocks if b.block_type == "theme"]
    # housing: Ann, Bob, Cat, Dee; work: Ann, Bob, Eve; drink: Cat (2 quotes); family: Dee.
    assert [b.value["theme"].pk for b in theme_blocks] == [
        themes[n].pk for n in ("housing", "work", "drink", "family")
    ]
    kinds = [b.block_type for b in blocks]
    assert kinds[:2] == ["text", "activity"] and kinds[-1] == "activity"
    assert kinds[2:-1] == ["theme", "prompt"] * 4
    prompt = blocks[3].value
    assert prompt["heading"] == "Talk about: housing, auto" and len(prompt["questions"]) == 3
    assert blocks[-1].value["template"] == "dot_voting"

    # Ann speaks twice to housing and Cat shares Ann's role: Ann, Bob (staff), Dee (volunteer).
    housing = theme_blocks[0].value["quotes"]
    assert {q.story.storyteller.pseudonym for q in housing} == {"Ann", "Bob", "Dee"}
    assert {q.story.storyteller_role for q in housing} == {"service_user", "staff", "volunteer"}
    assert DEE_HOUSING in {q.text for q in housing}
    # Eve's words are in the work theme (she agreed to analysis), never offered as a quote.
    work = theme_blocks[1].value["quotes"]
    assert {q.story.storyteller.pseudonym for q in work} == {"Ann", "Bob"}
    offered = pick_quotes(themes["work"], workshop.get_parent().specific, limit=10)
    assert {q.story_id for q in offered} == {stories["Ann"].pk, stories["Bob"].pk}
    # No quote twice in one pack.
    quoted = [q.pk for b in theme_blocks for q in b.value["quotes"]]
    assert len(quoted) == len(set(quoted))

    theme_services.theme_describe(
        theme=themes["housing"], description="Finding a home after prison.", user=facilitator
    )
    pack = resolve_pack(workshop=workshop, version=selectors.latest_version(workshop), charts=None)
    section = next(s for s in pack.sections if s.kind == "theme")
    assert section.data["description"] == "Finding a home after prison."
    assert section.data["who"] == (
        "4 storytellers speak to this theme: 2 people using the service, 1 member of staff, "
        "1 volunteer or peer mentor."
    )


def test_hidden_and_merged_themes_are_left_out_of_the_draft(project, facilitator, themes):
    from themes import services as theme_services

    theme_services.theme_hide(theme=themes["family"], user=facilitator)
    theme_services.theme_merge(themes=[themes["drink"]], into=themes["work"], user=facilitator)
    workshop = services.workshop_create(
        project=project, user=facilitator, title="Second", draft=True
    )
    labels = [b.value["theme"].pk for b in _body(workshop) if b.block_type == "theme"]
    assert labels == [themes["housing"].pk, themes["work"].pk]


def test_drafting_again_keeps_the_old_pack_in_the_history(workshop, facilitator):
    revisions = workshop.revisions.count()
    services.pack_draft(workshop=workshop, user=facilitator, max_themes=1)
    assert workshop.revisions.count() == revisions + 1
    assert len([b for b in _body(workshop) if b.block_type == "theme"]) == 1


def test_a_project_without_themes_gets_a_plain_message(project, facilitator):
    with pytest.raises(ValidationError) as refused:
        services.workshop_create(project=project, user=facilitator, title="Too early", draft=True)
    assert "no themes to build a pack from yet" in refused.value.messages[0]


def test_only_the_projects_facilitators_build_packs(
    workshop, project, reporter, manager, other_project
):
    for user in (reporter, manager):
        with pytest.raises(PermissionDenied):
            services.pack_draft(workshop=workshop, user=user)
        with pytest.raises(PermissionDenied):
            services.workshop_create(project=project, user=user, title="Mine")
    outsider = factories.user_with_role("facilitator", other_project, username="olly")
    with pytest.raises(PermissionDenied):
        services.pack_draft(workshop=workshop, user=outsider)


def test_a_co_facilitator_edits_another_facilitators_workshop(workshop, project):
    other = factories.user_with_role("facilitator", project, username="flo")
    assert workshop.permissions_for_user(other).can_edit()
    services.pack_draft(workshop=workshop, user=other, max_themes=2)
