"""What themes does when upstream apps announce something (connected in apps.py)."""

from django.db import transaction


def on_transcript_ready(sender, *, story_id, transcript_id=None, **kwargs):
    """A story has a new current transcript: queue placing its segments in the current
    themes (the worker checks the story may be analysed)."""
    from themes import tasks

    transaction.on_commit(lambda: tasks.assign_story_task.enqueue(story_id=story_id), robust=True)


def on_redactions_changed(sender, *, story_id, **kwargs):
    """The story's accepted redactions changed (sent once that is committed): the keywords
    and automatic labels of its project's themes no longer show a hidden word. Done at
    once, not queued: it is a few updates, and nobody should see the word meanwhile."""
    from stories.models import StoryPage
    from themes import services

    story = StoryPage.objects.filter(pk=story_id).first()
    project = story.get_project() if story is not None else None
    if project is not None:
        services.themes_hide_redacted_words(project=project)
