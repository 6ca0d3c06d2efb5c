"""Overdue reminders (daily, on a frozen clock) and reporters told about status changes."""

import datetime
import io
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from actions import services, tasks
from actions.models import ReminderSent, StatusNotice
from tests import factories
from tests.actions.conftest import make_action, status

LONDON = ZoneInfo("Europe/London")


def at(day, hour=9):
    return datetime.datetime(2026, 10, day, hour, 0, tzinfo=LONDON)


def test_owners_are_reminded_of_overdue_actions_once_a_day(world, mailoutbox):
    with time_machine.travel(at(1), tick=False):
        late = make_action(world, title="Call the council", due_date=datetime.date(2026, 9, 28))
        make_action(world, title="Not due yet", due_date=datetime.date(2026, 10, 5))
        make_action(
            world, title="Late but done", due_date=datetime.date(2026, 9, 1), status=status("done")
        )
        first = tasks.send_overdue_reminders_task.call()
        again = services.overdue_reminders_send()
    assert first == {"date": "2026-10-01", "sent": 1, "already_sent": 0}
    assert again["sent"] == 0 and again["already_sent"] == 1
    (mail,) = mailoutbox
    assert mail.to == [world.manager.email]
    assert mail.subject == "Overdue action: Call the council"
    assert "3 days past its due date" in mail.body
    assert f"/admin/actions/{late.pk}/" in mail.body
    # The next day, the reminder comes again.
    with time_machine.travel(at(2), tick=False):
        services.overdue_reminders_send()
    assert len(mailoutbox) == 2 and "4 days past" in mailoutbox[1].body
    assert ReminderSent.objects.filter(action=late).count() == 2


def test_when_the_owner_has_left_the_managers_are_reminded(world, mailoutbox):
    second = factories.user_with_role("manager", world.project, username="meg")
    with time_machine.travel(at(1), tick=False):
        make_action(world, title="Orphan", due_date=datetime.date(2026, 9, 30))
        world.manager.is_active = False
        world.manager.save()
        services.overdue_reminders_send()
    (mail,) = mailoutbox
    assert mail.to == [second.email]
    assert "It has no owner at the moment" in mail.body


def test_the_daily_jobs_send_the_reminders_once_a_day(world, mailoutbox):
    from cms.daily import daily_run

    with time_machine.travel(at(1), tick=False):
        make_action(world, title="Late", due_date=datetime.date(2026, 9, 28))
        first = daily_run()
        again = daily_run()  # the hourly call later that day
    assert first["action-reminders"] == "1 overdue reminders sent"
    assert "action-reminders" not in again
    assert len(mailoutbox) == 1


def test_the_reminder_command_for_cron(world, mailoutbox):
    with time_machine.travel(at(1), tick=False):
        make_action(world, title="Late", due_date=datetime.date(2026, 9, 28))
        out = io.StringIO()
        call_command("send_action_reminders", stdout=out)
        call_command("send_action_reminders", stdout=out)
    assert len(mailoutbox) == 1
    assert "Sent 1 reminder(s)" in out.getvalue()
    assert "1 had already gone today" in out.getvalue()


def test_reporters_are_told_once_when_an_action_from_their_stories_changes_status(
    world, mailoutbox
):
    action = services.action_create_from_proposal(proposal_id=world.proposal.pk)
    update = services.action_post_update(
        action=action, user=world.manager, text="Started", status=status("in_progress")
    )
    assert tasks.notify_reporters_task.call(update_id=update.pk) == {
        "update": update.pk,
        "told": 1,
    }
    assert services.status_change_notify(update_id=update.pk) == 0  # never twice
    (mail,) = mailoutbox
    assert mail.to == [world.reporter.email]  # rita recorded the housing story; omar did not
    assert "We are working on it" in mail.body
    assert "No flat" not in mail.body  # story titles stay out of e-mail
    assert f"/my-stories/{world.project.slug}/" in mail.body
    assert StatusNotice.objects.filter(update=update, user=world.reporter).exists()


def test_news_without_a_status_change_tells_nobody(world, mailoutbox):
    action = services.action_create_from_proposal(proposal_id=world.proposal.pk)
    update = services.action_post_update(action=action, user=world.manager, text="Just news")
    assert services.status_change_notify(update_id=update.pk) == 0
    assert mailoutbox == []
