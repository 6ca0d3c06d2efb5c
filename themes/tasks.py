"""Thin task wrappers: they take ids, and the services do the work (in workers)."""

from django.contrib.auth import get_user_model
from django.tasks import task

from themes import services
from themes.models import Theme


@task(queue_name="themes")
def build_themes_task(run_id: int) -> dict:
    """Do one theme run. Safe to run twice: only a queued run is taken."""
    run = services.theme_run_execute(run_id=run_id)
    if run is None:
        return {"run": run_id, "status": "gone"}
    return {"run": run.pk, "status": run.status, "themes": run.theme_count}


@task(queue_name="themes")
def assign_story_task(story_id: int) -> dict:
    """Place a newly transcribed story's segments in the current themes (no refit)."""
    return {"story": story_id, "segments": services.story_assign_incremental(story_id=story_id)}


@task(queue_name="themes")
def split_theme_task(theme_id: int, user_id: int | None, k: int = 2) -> dict:
    theme = Theme.objects.filter(pk=theme_id).select_related("project").first()
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if theme is None:
        return {"theme": theme_id, "status": "gone"}
    parts = services.theme_split(theme=theme, user=user, k=k)
    return {"theme": theme_id, "parts": [p.pk for p in parts]}
