"""Statuses and progress, bad input, owners who leave, concurrent edits, history."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from wagtail.models import ModelLogEntry

from actions import services
from actions.demo import demo_evidence_pdf
from actions.models import Action, ActionUpdate, ActionVisibility
from tests import factories
from tests.actions.conftest import status


def edit(action, user, **changes):
    fresh = Action.objects.get(pk=action.pk)
    return services.action_edit(action=fresh, user=user, expected_version=fresh.version, **changes)


def test_a_new_action_starts_with_its_status_default_progress(project, facilitator):
    proposed = services.action_create(project=project, user=facilitator, title="Proposed")
    agreed = services.action_create(
        project=project, user=facilitator, title="Agreed", status=status("agreed")
    )
    assert (proposed.status.key, proposed.progress) == ("proposed", 0)
    assert (agreed.status.key, agreed.progress) == ("agreed", 10)


def test_a_status_change_takes_the_default_progress_unless_progress_is_given(
    simple_action, manager
):
    moved = edit(simple_action, manager, status=status("in_progress"))
    assert moved.progress == 50
    both = edit(moved, manager, status=status("agreed"), progress=35)
    assert both.progress == 35
    done = edit(both, manager, status=status("done"))
    assert done.progress == 100
    assert done.closed_on is not None


def test_done_and_wont_do_are_never_overdue(simple_action, manager):
    late = edit(simple_action, manager, due_date=datetime.date(2020, 1, 1))
    assert late.is_overdue()
    assert not edit(late, manager, status=status("done")).is_overdue()


def test_wont_do_needs_a_reason(simple_action, manager):
    with pytest.raises(ValidationError) as refused:
        edit(simple_action, manager, status=status("wont_do"))
    assert "needs a reason" in refused.value.message_dict["status_reason"][0]
    kept = edit(simple_action, manager, status=status("wont_do"), status_reason="No money")
    assert kept.status.key == "wont_do"
    assert kept.progress == 0  # won't do keeps the progress it had


@pytest.mark.parametrize("value", [-1, 101, "lots", 50.5])
def test_progress_outside_0_to_100_is_refused(simple_action, manager, project, facilitator, value):
    with pytest.raises(ValidationError) as refused:
        edit(simple_action, manager, progress=value)
    assert refused.value.message_dict["progress"] == [
        "Progress must be a whole number from 0 to 100."
    ]
    with pytest.raises(ValidationError):
        services.action_create(project=project, user=facilitator, title="X", progress=value)
    assert Action.objects.get(pk=simple_action.pk).progress == 0


def test_due_date_before_start_is_refused(project, facilitator):
    with pytest.raises(ValidationError) as refused:
        services.action_create(
            project=project,
            user=facilitator,
            title="Backwards",
            start_date=datetime.date(2026, 5, 2),
            due_date=datetime.date(2026, 5, 1),
        )
    assert refused.value.message_dict["due_date"] == [
        "The due date cannot be before the start date."
    ]
    assert not Action.objects.filter(title="Backwards").exists()


def test_the_database_refuses_bad_progress_and_dates_too(simple_action):
    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.filter(pk=simple_action.pk).update(progress=150)
    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.filter(pk=simple_action.pk).update(
            start_date=datetime.date(2026, 5, 2), due_date=datetime.date(2026, 5, 1)
        )


def test_a_public_action_needs_a_public_summary(simple_action, manager):
    with pytest.raises(ValidationError) as refused:
        edit(simple_action, manager, visibility=ActionVisibility.PUBLIC)
    assert "public summary" in refused.value.message_dict["public_summary"][0]


def test_the_owner_must_be_a_manager_of_the_project(simple_action, manager, reporter, project):
    with pytest.raises(ValidationError) as refused:
        edit(simple_action, manager, owner=reporter)
    assert "must be a manager in this project" in refused.value.message_dict["owner"][0]
    outsider = factories.user_with_role("manager", factories.project(slug="p2"), username="mx")
    with pytest.raises(ValidationError):
        edit(simple_action, manager, owner=outsider)


def test_an_owner_who_leaves_flags_the_action_and_cannot_be_chosen_again(
    simple_action, manager, project
):
    assert not simple_action.needs_new_owner
    manager.is_active = False
    manager.save()
    action = Action.objects.get(pk=simple_action.pk)
    assert action.needs_new_owner
    steward = factories.steward(username="sue")
    # Other changes still go through while the action waits for a new owner...
    assert edit(action, steward, progress=20).progress == 20
    # ...but the closed account cannot be given an action.
    other = services.action_create(project=project, user=steward, title="Other")
    with pytest.raises(ValidationError) as refused:
        edit(other, steward, owner=manager)
    assert "account has been closed" in refused.value.message_dict["owner"][0]


def test_a_stale_edit_is_refused_and_overwrites_nothing(simple_action, manager, steward):
    opened_by_manager = Action.objects.get(pk=simple_action.pk)
    opened_by_steward = Action.objects.get(pk=simple_action.pk)
    services.action_edit(
        action=opened_by_steward,
        user=steward,
        expected_version=opened_by_steward.version,
        title="The steward's title",
    )
    with pytest.raises(services.StaleEdit) as refused:
        services.action_edit(
            action=opened_by_manager,
            user=manager,
            expected_version=opened_by_manager.version,
            title="The manager's title",
        )
    assert "Someone else saved this action" in refused.value.messages[0]
    assert "reload the page" in refused.value.messages[0]
    assert Action.objects.get(pk=simple_action.pk).title == "The steward's title"


def test_every_change_is_a_revision_and_in_the_audit_log(simple_action, manager):
    edit(simple_action, manager, title="Answer within three rings")
    edit(simple_action, manager, status=status("in_progress"))
    action = Action.objects.get(pk=simple_action.pk)
    assert action.revisions.count() == 3
    assert action.revisions.order_by("pk").first().content["title"] == "Answer the phone faster"
    entries = list(
        ModelLogEntry.objects.for_instance(action).order_by("pk").values_list("action", "data")
    )
    assert [e[0] for e in entries] == ["wagtail.create", "wagtail.edit", "wagtail.edit"]
    assert entries[2][1]["status"] == {"from": "proposed", "to": "in_progress"}
    # The status change is an update too, for the history and the reporters.
    update = action.updates.get()
    assert (update.status_from.key, update.status_to.key) == ("proposed", "in_progress")


def test_who_may_create_and_change(simple_action, reporter, facilitator, other_manager):
    with pytest.raises(PermissionDenied):
        services.action_create(project=simple_action.project, user=reporter, title="No")
    with pytest.raises(PermissionDenied):
        edit(simple_action, facilitator, title="Facilitators create but do not change")
    with pytest.raises(PermissionDenied):
        edit(simple_action, other_manager, title="Another project's manager")


def test_a_part_cannot_contain_its_own_parent(simple_action, manager, project, facilitator):
    part = services.action_create(
        project=project, user=facilitator, title="Part", parent=simple_action
    )
    with pytest.raises(ValidationError) as refused:
        edit(simple_action, manager, parent=part)
    assert "part of itself" in refused.value.message_dict["parent"][0]


def test_an_update_with_evidence_keeps_the_file_private(simple_action, manager, private_media):
    pdf = File(io.BytesIO(demo_evidence_pdf("Minutes")), name="../../etc/minutes.pdf")
    update = services.action_post_update(
        action=simple_action,
        user=manager,
        text="Met the reception team.",
        status=status("in_progress"),
        evidence=pdf,
    )
    assert update.evidence_content_type == "application/pdf"
    assert update.evidence.name.startswith("actions/") and ".." not in update.evidence.name
    assert (private_media / update.evidence.name).exists()
    with pytest.raises(ValueError):
        _ = update.evidence.url  # private storage has no URL: only the checked view serves it
    action = Action.objects.get(pk=simple_action.pk)
    assert (action.status.key, action.progress) == ("in_progress", 50)


def test_a_refused_update_leaves_no_file_and_no_change(simple_action, manager, private_media):
    before = set(private_media.rglob("*"))
    with pytest.raises(ValidationError) as refused:
        services.action_post_update(
            action=simple_action,
            user=manager,
            text="Here is a program",
            progress=80,
            evidence=File(io.BytesIO(b"MZ\x90\x00 not a document"), name="x.pdf"),
        )
    assert "PDF document or a JPEG or PNG picture" in refused.value.message_dict["evidence"][0]
    assert not [p for p in set(private_media.rglob("*")) - before if p.is_file()]
    assert Action.objects.get(pk=simple_action.pk).progress == 0
    assert not ActionUpdate.objects.exists()


def test_an_update_must_say_something_and_not_be_in_the_future(simple_action, manager):
    with pytest.raises(ValidationError) as empty:
        services.action_post_update(action=simple_action, user=manager, text="  ")
    assert "Please write what happened" in empty.value.message_dict["text"][0]
    with pytest.raises(ValidationError) as future:
        services.action_post_update(
            action=simple_action,
            user=manager,
            text="Tomorrow",
            on=datetime.date.today() + datetime.timedelta(days=2),
        )
    assert "future" in future.value.message_dict["date"][0]


def test_a_status_change_queues_the_reporters_notice_on_commit(
    simple_action, manager, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {
        "default": {
            "BACKEND": "django.tasks.backends.dummy.DummyBackend",
            "QUEUES": settings.TASK_QUEUES,
        }
    }
    from django.tasks import default_task_backend

    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.action_post_update(action=simple_action, user=manager, text="Just news")
        update = services.action_post_update(
            action=simple_action, user=manager, text="Started", status=status("in_progress")
        )
    queued = [
        r.kwargs for r in default_task_backend.results if r.task.name == "notify_reporters_task"
    ]
    assert queued == [{"update_id": update.pk}]
    default_task_backend.clear()
