from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.storage import storages
from django.db.models import FileField

from stories.models import private_storage
from tests import factories

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
