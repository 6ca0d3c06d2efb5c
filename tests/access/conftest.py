"""The access tests share one world: built once inside a transaction that is rolled back
when tests/access is done. Each test runs in its own savepoint, and each request in another
(harness.ask), so a POST that changes something is undone at once."""

import pytest
from django.apps import apps
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import FileField
from django.test.utils import override_settings

from stories.models import private_storage
from tests.access.world import build_world


@pytest.fixture(scope="package")
def world_media(tmp_path_factory):
    """Private and public media folders for the world's files, which live as long as it."""
    from django.conf import settings

    root = tmp_path_factory.mktemp("access-media")
    private = root / "private"
    storages_setting = {**settings.STORAGES}
    storages_setting["private"] = {
        **storages_setting["private"],
        "OPTIONS": {**storages_setting["private"]["OPTIONS"], "location": private},
    }
    with override_settings(
        STORAGES=storages_setting, PRIVATE_MEDIA_ROOT=private, MEDIA_ROOT=root / "media"
    ):
        fields = [
            f
            for model in apps.get_models()
            for f in model._meta.get_fields()
            if isinstance(f, FileField) and getattr(f, "_storage_callable", None) is private_storage
        ]
        previous = [f.storage for f in fields]
        for f in fields:
            f.storage = storages["private"]
        yield private
        for f, storage in zip(fields, previous, strict=True):
            f.storage = storage


@pytest.fixture(autouse=True)
def private_media(world_media):
    """Replaces the per-test storage of tests/conftest.py with the world's."""
    return world_media


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker, world_media):
    with django_db_blocker.unblock():
        block = transaction.atomic()
        block.__enter__()
        try:
            built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            block.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        block.__exit__(None, None, None)


@pytest.fixture(scope="package")
def sessions(world, django_db_blocker):
    """A logged-in session for each viewer, made once (inside the world's transaction)."""
    from tests.access.harness import make_session, viewer_users

    with django_db_blocker.unblock():
        return {
            viewer: make_session(user) if user is not None else None
            for viewer, user in viewer_users(world).items()
        }


@pytest.fixture
def clients(sessions, db):
    from tests.access.harness import client_for

    return {viewer: client_for(key) for viewer, key in sessions.items()}
