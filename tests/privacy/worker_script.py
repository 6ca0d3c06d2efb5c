"""Run by the kill -9 canary test on a database of its own:
`python tests/privacy/worker_script.py MODE JSON`, printing one line `RESULT {json}`."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.privacy.worker_settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from tests.privacy import canary  # noqa: E402


def flow(_):
    return canary.run_flow().as_dict()


def final(made):
    """The erasure as it ended, and what the scan of the database and storage finds."""
    folders = [settings.PRIVATE_MEDIA_ROOT, settings.MEDIA_ROOT]
    return {**canary.state(made), "found": canary.nonempty(canary.scan(made["sha256"], folders))}


if __name__ == "__main__":
    mode, argument = sys.argv[1], json.loads(sys.argv[2])
    result = {"flow": flow, "final": final}[mode](argument)
    print("RESULT " + json.dumps(result), flush=True)
