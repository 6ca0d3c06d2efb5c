"""Installed only in the canary's worker processes (tests/privacy/worker_settings.py)."""

import os
import time
from pathlib import Path

from django.apps import AppConfig


def pause_step(scope) -> dict[str, int]:
    """Half-way through an erasure (after workshops, themes and clips; before transcription
    and the story itself): with CANARY_PAUSE_FILE set, say so in that file and wait, inside
    the step's transaction, for the test to kill the worker."""
    pause = os.environ.get("CANARY_PAUSE_FILE")
    if pause:
        Path(pause).write_text(str(os.getpid()))
        time.sleep(600)
    return {}


class CanaryWorkerConfig(AppConfig):
    name = "tests.privacy"
    label = "privacy_canary"

    def ready(self):
        from stories.erasure import register_erasure_step

        register_erasure_step("canary-pause", pause_step, order=41)
