"""Real tasks used only by tests/test_task_backends.py: they leave a mark a test can see."""

from pathlib import Path

from django.tasks import task


@task(queue_name="default")
def write_marker(path, text):
    """Write `text` to the file at `path` and say what was written."""
    Path(path).write_text(text)
    return {"path": str(path), "length": len(text)}


@task(queue_name="transcription", takes_context=True)
def write_marker_with_context(context, path, text):
    """Like write_marker, on the transcription queue, and records its own result id."""
    Path(path).write_text(f"{context.task_result.id}:{text}")
    return {"path": str(path), "attempt": context.attempt}


@task(queue_name="default")
def fail_loudly(message):
    raise RuntimeError(message)
