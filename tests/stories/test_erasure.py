"""Withdrawn consent: access ends in the same transaction, then an erasure job removes the
story and everything made from it, resumes after a crash, and leaves a certificate."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from wagtail.models import Page, PageLogEntry, Revision
from wagtail.search.models import IndexEntry

from stories import erasure, services
from stories.models import (
    Consent,
    ErasureKind,
    ErasureRequest,
    ErasureStatus,
    StoryMedia,
    StoryPage,
    Storyteller,
    Visibility,
)
from stories.selectors import stories_visible_to
from tests import factories


@pytest.fixture
def steps(monkeypatch):
    """This test's own step registry, starting from the real one."""
    registered = list(erasure._steps)
    monkeypatch.setattr(erasure, "_steps", registered)
    return registered


@pytest.fixture
def story(project, reporter, steward):
    page = factories.story(project, reporter, title="Canary kestrel story", submit=True)
    services.story_approve(story=page, user=steward)
    return StoryPage.objects.get(pk=page.pk)


def _files(story):
    return [(m.file.storage, m.file.name) for m in StoryMedia.objects.filter(story=story)]


def test_withdrawing_consent_hides_the_story_from_everyone_at_once(
    story, reporter, steward, facilitator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.consent_withdraw(story=story, user=reporter)

    for viewer in (reporter, steward, facilitator):
        assert not stories_visible_to(user=viewer).filter(pk=story.pk).exists()
    request = ErasureRequest.objects.get()
    assert request.kind == ErasureKind.FULL and request.status == ErasureStatus.QUEUED
    assert "record" in request.scopes_removed
    assert len(callbacks) >= 1  # the job is queued once the withdrawal commits


def test_the_erasure_removes_the_story_its_files_and_its_history(story, reporter, steward):
    files = _files(story)
    assert files and all(storage.exists(name) for storage, name in files)
    page_type = ContentType.objects.get_for_model(Page)
    assert Revision.objects.filter(base_content_type=page_type, object_id=str(story.pk)).exists()
    services.consent_withdraw(story=story, user=reporter)
    request = ErasureRequest.objects.get()

    done = erasure.erasure_run(request_id=request.pk)

    assert done.status == ErasureStatus.DONE and done.story_id is None
    assert not StoryPage.objects.filter(pk=story.pk).exists()
    assert not any(storage.exists(name) for storage, name in files)
    assert not StoryMedia.objects.filter(story_id=story.pk).exists()
    assert not Consent.objects.filter(story_id=story.pk).exists()
    assert not Revision.objects.filter(base_content_type=page_type, object_id=str(story.pk))
    assert not IndexEntry.objects.filter(object_id=str(story.pk)).exists()
    assert not PageLogEntry.objects.filter(label__icontains="kestrel").exists()
    assert PageLogEntry.objects.filter(page_id=story.pk).exists()  # who did what stays
    assert not Storyteller.objects.filter(pseudonym="Sam").exists()
    removed = done.ledger["stories"]["removed"]
    assert removed["stories"] == 1 and removed["recordings and copies"] == len(files)


def test_a_storyteller_with_another_story_is_kept(story, project, reporter):
    factories.story(project, reporter, title="Second", storyteller_name="Sam")
    services.consent_withdraw(story=story, user=reporter)

    erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    assert Storyteller.objects.filter(pseudonym="Sam").exists()


def test_a_crash_half_way_resumes_without_redoing_finished_steps(story, reporter, steps):
    calls = {"first": 0, "flaky": 0}

    def first(scope):
        calls["first"] += 1
        return {"things": 2}

    def flaky(scope):
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("worker fell over")
        return {}

    erasure.register_erasure_step("first", first, order=1)
    erasure.register_erasure_step("flaky", flaky, order=2)
    services.consent_withdraw(story=story, user=reporter)
    request = ErasureRequest.objects.get()

    stopped = erasure.erasure_run(request_id=request.pk)
    assert stopped.status == ErasureStatus.QUEUED and stopped.attempts == 1
    assert "first" in stopped.ledger and "flaky" not in stopped.ledger
    assert "flaky" in stopped.error and "worker fell over" not in stopped.error
    assert StoryPage.objects.filter(pk=story.pk).exists()

    done = erasure.erasure_run(request_id=request.pk)
    assert done.status == ErasureStatus.DONE and done.attempts == 2
    assert calls == {"first": 1, "flaky": 2}
    assert done.ledger["first"]["removed"] == {"things": 2}
    assert not StoryPage.objects.filter(pk=story.pk).exists()


def test_a_dead_workers_erasure_is_taken_over_after_its_lease(story, reporter):
    from django.utils import timezone

    services.consent_withdraw(story=story, user=reporter)
    request = ErasureRequest.objects.get()
    assert erasure.erasure_claim(request_id=request.pk, worker_id="dead") is not None
    assert erasure.erasure_claim(request_id=request.pk, worker_id="other") is None  # held

    ErasureRequest.objects.filter(pk=request.pk).update(
        lease_expires_at=timezone.now() - erasure.LEASE
    )
    assert erasure.erasure_requeue_expired() == [request.pk]
    done = erasure.erasure_run(request_id=request.pk, worker_id="other")
    assert done.status == ErasureStatus.DONE and done.attempts == 2


def test_an_erasure_that_keeps_failing_stops_for_a_steward(story, reporter, steps):
    def broken(scope):
        raise OSError("disk")

    erasure.register_erasure_step("broken", broken, order=1)
    services.consent_withdraw(story=story, user=reporter)
    request = ErasureRequest.objects.get()
    for _ in range(request.max_attempts):
        erasure.erasure_run(request_id=request.pk)

    request.refresh_from_db()
    assert request.status == ErasureStatus.FAILED and "broken" in request.error
    assert not stories_visible_to(user=reporter).filter(pk=story.pk).exists()


def test_a_narrower_withdrawal_removes_only_what_is_no_longer_covered(story, reporter, steps):
    StoryPage.objects.filter(pk=story.pk).update(visibility=Visibility.PUBLIC)
    seen = []
    erasure.register_erasure_step("probe", lambda scope: seen.append(scope) or {}, order=1)

    services.consent_withdraw(
        story=story, user=reporter, keep={"record", "transcribe", "analyse", "quote", "voice"}
    )
    request = ErasureRequest.objects.get()
    assert request.kind == ErasureKind.NARROW and request.scopes_removed == ["publish"]
    assert stories_visible_to(user=reporter).filter(pk=story.pk).exists()

    done = erasure.erasure_run(request_id=request.pk)
    assert done.status == ErasureStatus.DONE
    story.refresh_from_db()
    assert story.visibility == Visibility.TEAM and StoryMedia.objects.filter(story=story)
    (scope,) = seen
    assert not scope.full and scope.lost("publish") and not scope.lost("voice", "quote")


def test_no_erasure_when_nothing_was_taken_back(story, reporter):
    services.consent_withdraw(
        story=story, user=reporter, keep=set(story.current_consent.scopes) | {"publish"}
    )
    assert not ErasureRequest.objects.exists()


def test_stewards_follow_erasures_and_read_the_certificate(client, story, reporter, steward):
    services.consent_withdraw(story=story, user=reporter)
    request = erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    client.force_login(steward)
    listing = client.get(reverse("erasures:index")).content.decode()
    assert str(request.reference) in listing and "1 stories" in listing
    certificate = client.get(reverse("erasures:inspect", args=[request.pk])).content.decode()
    assert "What was removed" in certificate and "kestrel" not in certificate

    client.force_login(reporter)
    assert client.get(reverse("erasures:index")).status_code in (302, 403)


def test_an_erasure_whose_task_was_never_queued_is_queued_by_the_sweep(
    story, reporter, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    services.consent_withdraw(story=story, user=reporter)
    request = ErasureRequest.objects.get()
    assert erasure.erasure_requeue_expired() == []  # just made: its task is on its way

    ErasureRequest.objects.filter(pk=request.pk).update(
        requested_at=timezone.now() - 2 * erasure.LEASE
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert erasure.erasure_requeue_expired() == [request.pk]
    assert len(callbacks) == 1
