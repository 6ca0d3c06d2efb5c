"""Erasure, workshops' part: a withdrawn story's quotes leave proposals and "most
significant" choices, and its packs say they were made again."""

from stories import erasure
from stories.models import ErasureRequest
from stories.services import consent_withdraw
from tests.workshops.conftest import add_blocks, quote_block
from transcription.models import Segment
from workshops import services
from workshops.models import SignificantStory, WorkshopPage


def test_a_withdrawn_story_leaves_proposals_choices_and_packs(
    project, stories, workshop, facilitator, reporter
):
    story = stories["Ann"]
    segment = Segment.objects.filter(story=story).first()
    add_blocks(workshop, facilitator, quote_block(segment))
    proposal = services.proposal_add(workshop=workshop, user=facilitator, title="Open later")
    proposal.quotes.add(segment)
    SignificantStory.objects.create(workshop=workshop, story=story, why="It rang true.")

    consent_withdraw(story=story, user=reporter)
    done = erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    removed = done.ledger["workshops"]["removed"]
    assert removed["packs marked as made again"] == 1
    assert removed["most significant story choices"] == 1
    assert not proposal.quotes.exists()
    workshop = WorkshopPage.objects.get(pk=workshop.pk)
    assert workshop.regenerated_at and "no longer agrees" in workshop.regenerated_note


def test_packs_without_the_story_are_left_alone(project, stories, workshop, reporter):
    consent_withdraw(story=stories["Eve"], user=reporter)
    done = erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    assert done.ledger["workshops"]["removed"] == {}
    assert WorkshopPage.objects.get(pk=workshop.pk).regenerated_at is None
