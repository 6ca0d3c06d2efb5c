import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.cache import caches
from django.core.files.storage import storages
from django.db.models import FileField

from stories.models import private_storage
from tests import factories
from tests.test_settings import REPO, clean_env

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
AUDIO = FIXTURES / "audio"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Each test gets its own private and public media folders.

    File fields bind their storage when models load, so the fields that use private
    storage are pointed at the per-test storage too, and restored afterwards."""
    private = tmp_path / "private"
    storages_setting = {**settings.STORAGES}
    storages_setting["private"] = {
        **storages_setting["private"],
        "OPTIONS": {**storages_setting["private"]["OPTIONS"], "location": private},
    }
    settings.STORAGES = storages_setting
    settings.PRIVATE_MEDIA_ROOT = private
    settings.MEDIA_ROOT = tmp_path / "media"
    fields = [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, FileField)
        and getattr(field, "_storage_callable", None) is private_storage
    ]
    previous = [field.storage for field in fields]
    for field in fields:
        field.storage = storages["private"]
    yield private
    for field, storage in zip(fields, previous, strict=True):
        field.storage = storage


@pytest.fixture(autouse=True)
def fresh_upload_counts():
    """Nobody has sent a story yet: the per-user upload counts (stories.uploads) live in a
    cache that outlives each test's database."""
    caches["uploads"].clear()
    yield
    caches["uploads"].clear()


@pytest.fixture
def fixtures_dir():
    if not FIXTURES.is_dir():
        raise RuntimeError(f"The shared fixtures are missing: expected them at {FIXTURES}")
    return FIXTURES


@pytest.fixture
def project(db):
    return factories.project()


@pytest.fixture
def other_project(db):
    return factories.project(title="Other programme", slug="other")


@pytest.fixture
def reporter(project):
    return factories.user_with_role("reporter", project, username="rita")


@pytest.fixture
def other_reporter(project):
    return factories.user_with_role("reporter", project, username="omar")


@pytest.fixture
def facilitator(project):
    return factories.user_with_role("facilitator", project, username="fay")


@pytest.fixture
def manager(project):
    return factories.user_with_role("manager", project, username="max")


@pytest.fixture
def steward(db):
    return factories.steward(username="stella")


@pytest.fixture(scope="session")
def migrated_var(tmp_path_factory):
    """A file-backed SQLite database, migrated once, for tests that run real worker
    processes (they cannot see pytest's in-memory test database)."""
    var = tmp_path_factory.mktemp("migrated-var")
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO,
        env=clean_env(var),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return var


# Real-worker tests run manage.py processes on their own migrated SQLite file, whatever
# DATABASE_URL says: running them again in the PostgreSQL pass would test nothing new.
WORKER_FIXTURES = {"processes", "theme_processes", "migrated_var"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if WORKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.no_database)
