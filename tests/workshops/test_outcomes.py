"""After the workshop: who came, the proposals with their votes and decisions, and the
stories participants found most significant. Accepted proposals are passed on once."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tests import factories
from tests.workshops.conftest import add_blocks
from workshops import services
from workshops.models import Attendance, Decision, Proposal, SignificantStory
from workshops.signals import proposal_accepted


@pytest.fixture
def accepted(django_capture_on_commit_callbacks):
    """Every proposal_accepted sent, as (proposal_id, user) — after the commit."""
    sent = []

    def receiver(sender, proposal_id, user, **kwargs):
        sent.append((proposal_id, user))

    proposal_accepted.connect(receiver, dispatch_uid="test-accepted")
    yield sent
    proposal_accepted.disconnect(dispatch_uid="test-accepted")


def test_accepting_a_proposal_passes_it_on_once(
    plain_workshop, facilitator, accepted, django_capture_on_commit_callbacks
):
    proposal = services.proposal_add(
        workshop=plain_workshop, user=facilitator, title="A named housing contact"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_decide(
            proposal=proposal, user=facilitator, decision=Decision.ACCEPTED, votes_for=9
        )
    assert accepted == [(proposal.pk, facilitator)]
    # Saved again, deferred and accepted again: never a second time.
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_decide(proposal=proposal, user=facilitator, decision="accepted")
        services.proposal_decide(
            proposal=proposal, user=facilitator, decision="deferred", reasons="Budget first."
        )
        services.proposal_decide(proposal=proposal, user=facilitator, decision="accepted")
    assert len(accepted) == 1
    stored = Proposal.objects.get(pk=proposal.pk)
    assert stored.decision == "accepted" and stored.votes_for == 9
    assert stored.decided_by == facilitator and stored.accepted_notified_at is not None


def test_rejected_and_deferred_need_reasons(plain_workshop, facilitator, accepted):
    proposal = services.proposal_add(workshop=plain_workshop, user=facilitator, title="Online only")
    for decision, message in [
        ("rejected", "Please say why the proposal was rejected."),
        ("deferred", "Please say why the proposal was deferred, and until when."),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.proposal_decide(proposal=proposal, user=facilitator, decision=decision)
        assert refused.value.messages == [message]
    with pytest.raises(ValidationError, match="whole number"):
        services.proposal_decide(
            proposal=proposal, user=facilitator, decision="pending", votes_for="-3"
        )
    assert Proposal.objects.get(pk=proposal.pk).decision == "pending"
    assert accepted == []


def test_the_outcomes_page_records_attendance_votes_and_decisions(
    client, login, plain_workshop, facilitator, accepted, django_capture_on_commit_callbacks
):
    login(facilitator)
    url = reverse("workshops:outcomes", args=[plain_workshop.pk])
    added = client.post(
        reverse("workshops:proposal_add", args=[plain_workshop.pk]),
        {"title": "Evening appointments", "description": "For people who work days."},
    )
    assert added.status_code == 302
    late, online = (
        Proposal.objects.get(title="Evening appointments"),
        services.proposal_add(workshop=plain_workshop, user=facilitator, title="Online only"),
    )
    form = {
        "attendance-managers": "4",
        "attendance-case_managers": "7",
        f"proposal-{late.pk}-for": "10",
        f"proposal-{late.pk}-against": "2",
        f"proposal-{late.pk}-abstain": "1",
        f"proposal-{late.pk}-decision": "accepted",
        f"proposal-{online.pk}-decision": "rejected",
        f"proposal-{online.pk}-reasons": "",
    }
    # A rejection without reasons: nothing is saved, the page says why, and nothing is sent.
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(url, form)
    assert refused.status_code == 400
    assert "Please say why the proposal was rejected." in refused.content.decode()
    assert 'value="10"' in refused.content.decode()  # what was typed is kept
    assert not Attendance.objects.filter(workshop=plain_workshop).exists()
    assert Proposal.objects.get(pk=late.pk).decision == "pending" and accepted == []

    form[f"proposal-{online.pk}-reasons"] = "People want to meet face to face."
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(url, form)
    assert saved.status_code == 302
    assert accepted == [(late.pk, facilitator)]
    assert dict(plain_workshop.attendance.values_list("group", "count")) == {
        "managers": 4,
        "case_managers": 7,
    }
    page = client.get(url).content.decode()
    assert "it has been passed on as an action" in page


def test_most_significant_stories_come_from_the_pack(client, login, workshop, facilitator, stories):
    login(facilitator)
    url = reverse("workshops:significant_add", args=[workshop.pk])
    page = client.get(reverse("workshops:outcomes", args=[workshop.pk])).content.decode()
    assert "When I came out I had no flat" in page  # stories named by their quoted words
    assert "Eve&#x27;s story" not in page and "Ann&#x27;s story" not in page

    missing = client.post(url, {"story": stories["Ann"].pk, "why": ""})
    assert "Please write why participants chose this story." in missing.content.decode()
    outside = client.post(url, {"story": stories["Eve"].pk, "why": "Moving"})
    assert outside.status_code == 400
    assert client.post(url, {"story": stories["Ann"].pk, "why": "It named the problem."})
    chosen = SignificantStory.objects.get(workshop=workshop)
    assert chosen.story == stories["Ann"] and chosen.why == "It named the problem."
    with pytest.raises(ValidationError):
        services.significant_story_add(
            workshop=workshop, user=facilitator, story=stories["Eve"], why="x"
        )


def test_proposed_changes_in_the_pack_become_proposals(workshop, facilitator, themes):
    version = add_blocks(
        workshop,
        facilitator,
        (
            "proposed_change",
            {
                "title": "A named housing contact",
                "description": "One person to call.",
                "themes": [themes["housing"].pk],
                "notes": "",
            },
        ),
    )
    services.proposals_sync_from_pack(workshop=workshop, user=facilitator)
    proposal = workshop.proposals.get(from_pack=True)
    assert proposal.title == "A named housing contact"
    assert list(proposal.themes.all()) == [themes["housing"]]
    # The pack's quotes for the housing theme travel with it (to the action, later).
    housing = next(b for b in version.body if b.block_type == "theme")
    assert set(proposal.quotes.values_list("pk", flat=True)) == {
        s.pk for s in housing.value["quotes"]
    }
    services.proposals_sync_from_pack(workshop=workshop, user=facilitator)
    assert workshop.proposals.count() == 1
    # The block is taken out of the pack before anything was decided: so is the proposal.
    add_blocks(workshop, facilitator, without="proposed_change")
    services.proposals_sync_from_pack(workshop=workshop, user=facilitator)
    assert not workshop.proposals.exists()


def test_only_the_projects_facilitators_record_outcomes(
    client, login, plain_workshop, project, reporter, manager, other_project
):
    proposal = services.proposal_add(
        workshop=plain_workshop, user=plain_workshop.owner, title="Peer mentors at induction"
    )
    url = reverse("workshops:outcomes", args=[plain_workshop.pk])
    for reader in (manager, reporter):
        login(reader)
        page = client.get(url)
        assert page.status_code == 200 and "Peer mentors at induction" in page.content.decode()
        assert "Save the outcomes" not in page.content.decode()
        refused = client.post(url, {f"proposal-{proposal.pk}-decision": "accepted"})
        assert refused.status_code == 303
        with pytest.raises(PermissionDenied):
            services.proposal_decide(proposal=proposal, user=reader, decision="accepted")
    assert Proposal.objects.get(pk=proposal.pk).decision == "pending"
    login(factories.user_with_role("facilitator", other_project, username="olly"))
    assert client.get(url).status_code == 404
