"""The seed_demo step "actions": actions at several statuses with updates, then linked to the
themes once the worker has found them."""

import pytest
from django.tasks import default_task_backend

from actions import selectors, services
from actions.demo import DEMO_ACTIONS, demo_actions, demo_link_themes
from actions.models import Action
from stories.demo import DemoResult
from tests import factories
from tests.actions.conftest import theme_run, themes_by_name
from tests.themes.helpers import HOUSING, WORK, analysed_story
from workshops.models import Decision, Proposal, WorkshopPage


@pytest.fixture
def dummy_tasks(settings):
    settings.TASKS = {
        "default": {
            "BACKEND": "django.tasks.backends.dummy.DummyBackend",
            "QUEUES": settings.TASK_QUEUES,
        }
    }
    default_task_backend.clear()
    yield default_task_backend
    default_task_backend.clear()


@pytest.fixture
def demo(project):
    manager = factories.user_with_role("manager", project, username="manager")
    facilitator = factories.user_with_role("facilitator", project, username="facilitator")
    return DemoResult(project=project, created=True), manager, facilitator


def accepted_proposal(project, title, description=""):
    page = WorkshopPage(title="Demo workshop", slug="demo-workshop")
    project.add_child(instance=page)
    made = Proposal.objects.create(
        workshop=page, title=title, description=description, decision=Decision.ACCEPTED
    )
    return services.action_create_from_proposal(proposal_id=made.pk)


def test_the_demo_actions_make_the_dashboard_and_public_page_alive(
    demo, dummy_tasks, django_capture_on_commit_callbacks
):
    result, manager, _ = demo
    from_workshop = accepted_proposal(result.project, "From the workshop")
    with django_capture_on_commit_callbacks(execute=True):
        demo_actions(result)
    actions = Action.objects.filter(project=result.project)
    assert actions.count() == 1 + len(DEMO_ACTIONS)
    # The workshop's own action keeps its title, and gets an owner, a status and updates.
    from_workshop.refresh_from_db()
    assert from_workshop.title == "From the workshop"
    assert from_workshop.owner == manager
    assert (from_workshop.status.key, from_workshop.progress) == ("in_progress", 60)
    assert from_workshop.updates.count() == 2
    assert from_workshop.public_summary == "From the workshop"
    figures = selectors.dashboard(user=manager, project=result.project)
    counts = {s.key: n for s, n in figures["by_status"]}
    assert counts == {"proposed": 1, "agreed": 1, "in_progress": 2, "done": 1, "wont_do": 1}
    assert [a.title for a in figures["overdue"]] == [
        "Help with reading letters and forms at reception"
    ]
    assert [a.title for a in figures["needs_owner"]] == [
        "A proper handover when your officer changes"
    ]
    assert Action.objects.get(title="Pay bus fares up front").updates.exclude(evidence="").exists()
    assert "/you-said-we-did/" in result.notes[0]
    queued = [r for r in dummy_tasks.results if r.task.name == "demo_actions_task"]
    assert [r.kwargs for r in queued] == [{"project_id": result.project.pk, "attempt": 0}]


def test_the_demo_links_its_actions_to_the_themes_once_they_exist(
    demo, steward, reporter, dummy_tasks
):
    result, manager, facilitator = demo
    interview = accepted_proposal(
        result.project,
        "Help with disclosure letters",
        "Employment workers help with the letter for a job interview.",
    )
    demo_actions(result)
    analysed_story(result.project, reporter, steward, HOUSING, title="Flat", teller="Ann")
    analysed_story(result.project, reporter, steward, WORK, title="Job", teller="Bob")
    # No themes yet: the stories are transcribed, so a theme run is started, and it waits.
    waiting = demo_link_themes(project_id=result.project.pk, attempt=0)
    assert waiting["status"] == "waiting for themes"
    requeued = [r for r in dummy_tasks.results if r.task.name == "demo_actions_task"]
    assert requeued[-1].kwargs == {"project_id": result.project.pk, "attempt": 1}
    assert requeued[-1].task.run_after is not None
    theme_run(result.project, facilitator)
    linked = demo_link_themes(project_id=result.project.pk, attempt=1)
    assert linked == {"status": "linked", "actions": 1}
    work = themes_by_name(result.project)["work"]
    work.refresh_from_db()
    assert list(Action.objects.get(pk=interview.pk).themes.all()) == [work]
    assert work.label  # a name in plain words, so that the public page may show it
    assert selectors.public_page(project=result.project)["themes"][0]["wording"] == work.label
