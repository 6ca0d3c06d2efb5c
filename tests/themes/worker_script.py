"""Run by the kill -9 test against a file-backed database of its own:
`python tests/themes/worker_script.py MODE JSON`, printing one line `RESULT {json}`."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from tests import factories  # noqa: E402
from tests.themes.helpers import real_project  # noqa: E402
from themes import services  # noqa: E402
from themes.models import ThemeRun  # noqa: E402


def setup(_):
    """A small real project (three storytellers, thirteen segments) and one queued run."""
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    steward = factories.steward(username="stella")
    real_project(project, reporter, steward)
    run = services.theme_run_start(project=project, user=None)  # commits: the task is queued
    return {"run": run.pk, "project": project.pk}


def expire_and_sweep(run_id):
    """The lease runs out (as it would a few minutes after the worker died), then the
    sweep every worker runs puts the run back on the queue."""
    past = timezone.now() - timezone.timedelta(seconds=1)
    ThemeRun.objects.filter(pk=run_id).update(lease_expires_at=past)
    return {"requeued": services.theme_run_requeue_expired()}


def sweep(_):
    return {"requeued": services.theme_run_requeue_expired()}


if __name__ == "__main__":
    mode, argument = sys.argv[1], json.loads(sys.argv[2])
    result = {"setup": setup, "expire_and_sweep": expire_and_sweep, "sweep": sweep}[mode](argument)
    print("RESULT " + json.dumps(result), flush=True)
