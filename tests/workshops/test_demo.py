"""The demo's held workshop: outcomes at once (so the actions demo has accepted proposals),
the pack as soon as the worker has found themes."""

import pytest

from stories.demo import DemoResult
from tests import factories
from themes.models import RunStatus, ThemeRun
from workshops import demo
from workshops.models import WorkshopPage
from workshops.signals import proposal_accepted


@pytest.fixture
def demo_people(project):
    return (
        factories.user_with_role("facilitator", project, username="facilitator"),
        factories.steward(username="steward"),
    )


@pytest.fixture
def accepted():
    sent = []

    def receiver(sender, proposal_id, **kwargs):
        sent.append(proposal_id)

    proposal_accepted.connect(receiver, dispatch_uid="test-demo-accepted")
    yield sent
    proposal_accepted.disconnect(dispatch_uid="test-demo-accepted")


def _held(project, accepted, django_capture_on_commit_callbacks):
    result = DemoResult(project=project, created=True)
    with django_capture_on_commit_callbacks(execute=True):
        demo.demo_workshop(result)
    workshop = WorkshopPage.objects.descendant_of(project).get()
    assert workshop.live and workshop.date is not None
    assert sum(workshop.attendance.values_list("count", flat=True)) == 14
    decisions = dict(workshop.proposals.values_list("title", "decision"))
    assert sorted(decisions.values()) == ["accepted", "accepted", "deferred", "rejected"]
    assert sorted(accepted) == sorted(
        workshop.proposals.filter(decision="accepted").values_list("pk", flat=True)
    )
    assert all(p.reasons for p in workshop.proposals.exclude(decision="accepted"))
    assert "two proposals accepted" in result.notes[0]
    return workshop


def test_the_demo_workshop_is_held_then_its_pack_waits_for_themes(
    project, demo_people, accepted, django_capture_on_commit_callbacks
):
    workshop = _held(project, accepted, django_capture_on_commit_callbacks)
    assert len(workshop.body) == 0
    # Nothing is waiting for transcription and nobody has looked for themes: it starts a run.
    with django_capture_on_commit_callbacks(execute=False):
        status = demo.demo_pack(workshop_id=workshop.pk, attempt=1)
    assert status["status"] == "waiting"
    run = ThemeRun.objects.get(project=project, status=RunStatus.QUEUED)
    # The run found nothing to show: the demo gives up rather than start run after run.
    ThemeRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert demo.demo_pack(workshop_id=workshop.pk, attempt=2)["status"] == "no themes"
    assert ThemeRun.objects.filter(project=project).count() == 1 and not queued


def test_the_demo_pack_is_drafted_from_the_themes(
    project, demo_people, themes, accepted, django_capture_on_commit_callbacks
):
    workshop = _held(project, accepted, django_capture_on_commit_callbacks)
    assert demo.demo_pack(workshop_id=workshop.pk, attempt=2)["status"] == "drafted"
    workshop.refresh_from_db()
    assert workshop.live and not workshop.has_unpublished_changes
    assert [b.block_type for b in workshop.body].count("theme") == 4
    housing = workshop.proposals.get(title__startswith="A named housing contact")
    assert list(housing.themes.all()) == [themes["housing"]]
    letters = workshop.proposals.get(title__startswith="Help with disclosure letters")
    assert list(letters.themes.all()) == [themes["work"]]
    assert len(accepted) == 2  # linking themes sends nothing again
