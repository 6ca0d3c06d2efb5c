"""Run by the kill -9 clip test against a file-backed database of its own:
`python tests/transcription/clip_worker_script.py MODE JSON`, printing one line `RESULT {json}`.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from wagtail.models import ModelLogEntry, PageLogEntry  # noqa: E402

from stories.models import StoryPage  # noqa: E402
from tests import factories  # noqa: E402
from tests.transcription.clipkit import add_transcript  # noqa: E402
from transcription import clip_services, selectors  # noqa: E402
from transcription.models import Clip  # noqa: E402


def setup(argument):
    """A recorded story with a transcript of one line every ten seconds, and a clip of
    `start`..`end` seconds, queued for a worker."""
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    story = factories.story(project, reporter, audio=argument["audio"])
    seconds = story.media.get().duration_seconds
    lines = [
        (t, min(t + 9.0, seconds), f"This is what I said in second {int(t)} of my story.")
        for t in range(0, int(seconds) - 1, 10)
    ]
    add_transcript(story, lines)
    StoryPage.objects.filter(pk=story.pk).update(live=True)
    clip = clip_services.clip_create(  # commits: the render task is queued on the backend
        user=reporter, story=story, start=argument["start"], end=argument["end"]
    )
    return {"story": story.pk, "clip": clip.pk, "seconds": seconds}


def _files(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def state(clip_id):
    clip = Clip.objects.select_related("story").get(pk=clip_id)
    private = Path(settings.PRIVATE_MEDIA_ROOT)
    logs = [
        entry.action
        for model in (PageLogEntry, ModelLogEntry)
        for entry in model.objects.filter(action__startswith="storyloom.clip.")
    ]
    return {
        "status": clip.status,
        "attempts": clip.attempts,
        "progress": clip.progress,
        "error": clip.error,
        "file": clip.file.name,
        "path": clip.file.path if clip.file else "",
        "content_type": clip.content_type,
        "playable": selectors.clip_playable(clip),
        "lease_expired": bool(clip.lease_expires_at and clip.lease_expires_at < timezone.now()),
        "stored": _files(private / clip_services.clip_storage_folder(clip)),
        "work": _files(clip_services.clip_work_dir(clip.pk)),
        "private": _files(private),
        "work_dir": str(clip_services.clip_work_dir(clip.pk)),
        "clip_logs": logs,
    }


if __name__ == "__main__":
    mode, argument = sys.argv[1], json.loads(sys.argv[2])
    result = {"setup": setup, "state": state}[mode](argument)
    print("RESULT " + json.dumps(result), flush=True)
