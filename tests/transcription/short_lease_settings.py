"""cms.settings with a lease of seconds instead of minutes, for the worker processes of the
kill -9 clip test: a dead worker's clip is taken up again within the test's time."""

from cms.settings import *  # noqa: F403

TRANSCRIPTION_LEASE_SECONDS = 4
TRANSCRIPTION_HEARTBEAT_SECONDS = 0.25
