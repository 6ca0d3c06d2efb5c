import tempfile

import pytest

# Django's @task builds each task with the task class of the backend configured when its
# module is first imported: import them now, under the default settings, before any test
# here switches TASKS to the Redis backend.
import stories.tasks  # noqa: F401
import transcription.tasks  # noqa: F401
from tests.stories.test_capture import audio_upload, capture_url, form_data  # noqa: F401
from tests.test_task_backends import redis_db  # noqa: F401  (a fixture: Redis database 15)


@pytest.fixture
def upload_tmp(monkeypatch, tmp_path):
    """Django streams uploads to temporary files in tempfile.gettempdir(): give each test its
    own folder, and say which upload files were left in it."""
    folder = tmp_path / "uploads-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))

    def leftover_uploads():
        return sorted(p.name for p in folder.iterdir())

    return leftover_uploads


@pytest.fixture
def logged_in(client, reporter):
    client.force_login(reporter)
    return client
