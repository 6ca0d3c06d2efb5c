"""Retention: stories older than their project's period are erased by the daily job, once a
day however often the job is called (frozen clock)."""

import io
from datetime import date

import pytest
import time_machine
from django.core.management import call_command

from cms import daily
from cms.models import DailyRun
from stories import erasure
from stories.models import ErasureRequest, ErasureStatus, StoryPage
from stories.retention import months_before
from tests import factories


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 26), 36, date(2023, 11, 26)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2028, 3, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 15), 13, date(2024, 12, 15)),
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


@pytest.fixture
def stories(project, reporter):
    project.retention_months = 12
    project.save()
    old = factories.story(project, reporter, title="Old", recorded_on=date(2025, 11, 1))
    kept = factories.story(project, reporter, title="Recent", recorded_on=date(2026, 1, 5))
    return old, kept


@time_machine.travel("2026-11-26 09:00:00+00:00", tick=False)
def test_the_daily_job_erases_stories_past_retention_once_a_day(stories):
    old, kept = stories
    out = io.StringIO()

    call_command("daily", stdout=out)
    call_command("daily", stdout=out)  # the hourly call later that day does nothing

    request = ErasureRequest.objects.get()
    assert request.story_id == old.pk and request.reason == "retention"
    assert "1 stories past their retention period" in out.getvalue()
    assert "Nothing to do" in out.getvalue()
    assert DailyRun.objects.filter(name="retention", day=date(2026, 11, 26)).count() == 1
    erasure.erasure_run(request_id=request.pk)
    assert not StoryPage.objects.filter(pk=old.pk).exists()
    assert StoryPage.objects.filter(pk=kept.pk).exists()


def test_a_story_already_being_erased_is_not_sent_twice(stories):
    daily.daily_run(today=date(2026, 11, 26))
    daily.daily_run(today=date(2026, 11, 27))

    assert ErasureRequest.objects.filter(status=ErasureStatus.QUEUED).count() == 1


def test_a_failing_job_is_tried_again_and_does_not_stop_the_others(db, monkeypatch):
    calls = []

    def broken(today):
        calls.append("broken")
        raise RuntimeError("no")

    monkeypatch.setattr(daily, "_jobs", {"a-broken": broken, "b-fine": lambda today: "ok"})

    assert daily.daily_run(today=date(2026, 11, 26)) == {
        "a-broken": "failed (RuntimeError)",
        "b-fine": "ok",
    }
    assert daily.daily_run(today=date(2026, 11, 26)) == {"a-broken": "failed (RuntimeError)"}
    assert calls == ["broken", "broken"]


def test_a_bad_date_is_a_clear_error(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("daily", "--date", "26/11/2026")


def test_deleting_originals_after_verification_keeps_the_transcript(project, reporter, steward):
    """The job that transcribed a recording points at it; the recording going must not
    take the job, and with it the transcript, along."""
    from datetime import timedelta

    from django.utils import timezone

    from stories.models import StoryMedia
    from tests.transcription import clipkit
    from transcription.models import Segment, Transcript, TranscriptionJob

    story = clipkit.jfk_story(project, reporter)
    original = StoryMedia.objects.get(story=story, role=StoryMedia.Role.RECORDING)
    TranscriptionJob.objects.filter(story=story).update(media=original)
    project.delete_originals_after_verified_days = 30
    project.save()
    Transcript.objects.filter(story=story).update(
        verified_at=timezone.now() - timedelta(days=40), verified_by=steward
    )

    daily.daily_run(today=timezone.localdate())

    assert not StoryMedia.objects.filter(pk=original.pk).exists()
    assert Transcript.objects.filter(story=story, is_current=True).exists()
    assert Segment.objects.filter(story=story).count() == len(clipkit.JFK_LINES)
