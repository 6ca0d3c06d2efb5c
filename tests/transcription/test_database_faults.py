"""The database goes away in the middle of a job (restarted, or the connection dropped):
the job ends done exactly once, with one transcript, whatever the worker was doing."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from tests import factories
from tests.transcription.fakes import FakeEngine
from transcription import services
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

pytestmark = pytest.mark.django_db

DROPPED = "server closed the connection unexpectedly"


@pytest.fixture
def job(project, reporter):
    return services.job_enqueue(story=factories.story(project, reporter))


def test_a_dropped_connection_during_a_heartbeat_is_retried_and_ends_done_once(job, monkeypatch):
    real_heartbeat = services.job_heartbeat
    calls = {"n": 0}

    def heartbeat_while_database_restarts(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError(DROPPED)
        return real_heartbeat(**kwargs)

    monkeypatch.setattr(services, "job_heartbeat", heartbeat_while_database_restarts)

    first = services.job_run(job_id=job.pk, engine=FakeEngine())
    assert first.status == JobStatus.QUEUED and first.attempts == 1  # put back, not lost

    second = services.job_run(job_id=job.pk, engine=FakeEngine())
    assert second.status == JobStatus.DONE and second.attempts == 2
    assert Transcript.objects.filter(story=job.story).count() == 1
    indexes = list(Segment.objects.filter(story=job.story).values_list("index", flat=True))
    assert indexes == sorted(set(indexes))


def test_a_database_still_down_when_the_worker_gives_up_is_picked_up_after_its_lease(
    job, monkeypatch
):
    def database_down(**kwargs):
        raise OperationalError(DROPPED)

    def cannot_record_the_failure(*args, **kwargs):
        raise OperationalError(DROPPED)

    monkeypatch.setattr(services, "job_heartbeat", database_down)
    monkeypatch.setattr(services, "_retry_or_fail", cannot_record_the_failure)
    with pytest.raises(OperationalError):
        services.job_run(job_id=job.pk, engine=FakeEngine())  # the task itself fails
    monkeypatch.undo()

    stuck = TranscriptionJob.objects.get(pk=job.pk)
    assert stuck.status == JobStatus.RUNNING  # nobody could write anything else
    assert services.job_requeue_expired() == []  # its lease still runs
    TranscriptionJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.job_requeue_expired() == [job.pk]

    done = services.job_run(job_id=job.pk, engine=FakeEngine())
    assert done.status == JobStatus.DONE and done.attempts == 2
    assert Transcript.objects.filter(story=job.story).count() == 1
