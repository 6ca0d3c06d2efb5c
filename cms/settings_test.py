"""The test run: everything written goes to a throw-away folder."""

import atexit
import os
import shutil
import tempfile

# The theme engine's embedding model stays where `make venv` installed it.
os.environ.setdefault(
    "THEMES_MODEL_DIR",
    os.path.join(
        os.environ.get("STORYLOOM_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var")),
        "models",
        "potion-base-8M",
    ),
)
_var = tempfile.mkdtemp(prefix="storyloom-test-")
atexit.register(shutil.rmtree, _var, ignore_errors=True)
os.environ["STORYLOOM_VAR_DIR"] = _var
os.environ.pop("MEDIA_ROOT", None)
os.environ.pop("PRIVATE_MEDIA_ROOT", None)

from cms.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# The test client's login() authenticates without a request, which django-axes cannot
# count; the lock-out tests turn it back on.
AXES_ENABLED = False
