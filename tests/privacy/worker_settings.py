"""Settings for the canary's subprocesses (flow, workers, scan): the site's own settings,
plus the pause step (tests/privacy/apps.py) and what a test client needs."""

from cms.settings import *  # noqa: F403
from cms.settings import ALLOWED_HOSTS, INSTALLED_APPS, STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "tests.privacy.apps.CanaryWorkerConfig"]
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
