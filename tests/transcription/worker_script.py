"""Run by the subprocess tests (kill -9, RQ) against a file-backed database of their own:
`python tests/transcription/worker_script.py MODE JSON`, printing one line `RESULT {json}`."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from stories.services import story_submit  # noqa: E402
from tests import factories  # noqa: E402
from transcription.models import Segment, Transcript, TranscriptionJob  # noqa: E402


def setup(audio):
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    story = factories.story(project, reporter, audio=audio)
    story_submit(story=story, user=reporter)  # commits: the job is queued on the backend
    return {"story": story.pk, "job": TranscriptionJob.objects.get(story=story).pk}


def expire(job_id):
    past = timezone.now() - timezone.timedelta(seconds=1)
    return {"expired": TranscriptionJob.objects.filter(pk=job_id).update(lease_expires_at=past)}


def state(story_id):
    jobs = list(TranscriptionJob.objects.filter(story_id=story_id))
    segments = Segment.objects.filter(story_id=story_id).order_by("transcript", "index")
    return {
        "jobs": [
            {"status": j.status, "attempts": j.attempts, "progress": j.progress, "error": j.error}
            for j in jobs
        ],
        "transcripts": Transcript.objects.filter(story_id=story_id).count(),
        "indexes": list(segments.values_list("index", flat=True)),
        "text": " ".join(segments.values_list("text", flat=True)),
        "model_ids": list(Transcript.objects.values_list("model_id", flat=True)),
    }


if __name__ == "__main__":
    mode, argument = sys.argv[1], json.loads(sys.argv[2])
    result = {"setup": setup, "expire": expire, "state": state}[mode](argument)
    print("RESULT " + json.dumps(result), flush=True)
