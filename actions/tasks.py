"""Thin task wrappers: they take ids, and the services do the work (in workers)."""

from django.tasks import task

from actions import services


@task()
def send_overdue_reminders_task() -> dict:
    """Today's overdue reminders. Safe to run twice: a reminder goes once a day."""
    return services.overdue_reminders_send()


@task()
def notify_reporters_task(update_id: int) -> dict:
    """Tell reporters about a status change. Safe to run twice: each is told once."""
    return {"update": update_id, "told": services.status_change_notify(update_id=update_id)}


@task()
def demo_actions_task(project_id: int, attempt: int = 0) -> dict:
    """The demo's second step, once its stories have themes (see actions.demo)."""
    from actions import demo

    return demo.demo_link_themes(project_id=project_id, attempt=attempt)
