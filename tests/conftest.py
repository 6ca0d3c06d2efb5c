from pathlib import Path

import pytest

from tests import factories

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
AUDIO = FIXTURES / "audio"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Each test gets its own private and public media folders."""
    private = tmp_path / "private"
    storages = {**settings.STORAGES}
    storages["private"] = {
        **storages["private"],
        "OPTIONS": {**storages["private"]["OPTIONS"], "location": private},
    }
    settings.STORAGES = storages
    settings.PRIVATE_MEDIA_ROOT = private
    settings.MEDIA_ROOT = tmp_path / "media"
    return private


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
