"""What themes does when upstream apps announce something (connected in apps.py)."""

from django.db import transaction


def on_transcript_ready(sender, *, story_id, transcript_id=None, **kwargs):
    """A story has a new current transcript: queue placing its segments in the current
    themes (the worker checks the story may be analysed)."""
    from themes import tasks

    transaction.on_commit(lambda: tasks.assign_story_task.enqueue(story_id=story_id))
