"""Erasure, transcription's part: transcripts, segments, redactions, clips and their files go
with the story; without "transcribe" only the words go; originals can be deleted after
their transcript is verified."""

from datetime import date, timedelta

from django.utils import timezone

from stories import erasure, services
from stories.models import ErasureRequest, StoryMedia, StoryPage
from tests.transcription import clipkit
from transcription import clip_services
from transcription.models import (
    Clip,
    ClipStatus,
    Redaction,
    RedactionKind,
    Segment,
    Transcript,
)
from transcription.redaction_services import redaction_add


def _story_with_clip(project, reporter, facilitator):
    story = clipkit.jfk_story(project, reporter)
    first = clipkit.segment(story, 0)
    redaction_add(
        segment=first, start_char=0, end_char=3, kind=RedactionKind.OTHER, user=reporter
    )
    clip = clip_services.clip_create(user=facilitator, story=story, first_segment=first.pk)
    clip_services.clip_render(clip_id=clip.pk)
    clip.refresh_from_db()
    return story, clip


def test_a_full_erasure_removes_transcripts_redactions_clips_and_their_files(
    project, reporter, facilitator
):
    story, clip = _story_with_clip(project, reporter, facilitator)
    assert clip.status == ClipStatus.DONE and clip.file.storage.exists(clip.file.name)
    clip_file = (clip.file.storage, clip.file.name)

    services.consent_withdraw(story=story, user=reporter)
    done = erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    assert done.status == "done"
    for model in (Transcript, Segment, Redaction, Clip):
        assert not model.objects.filter(story_id=story.pk).exists(), model
    assert not clip_file[0].exists(clip_file[1])
    assert done.ledger["clips"]["removed"]["clips"] == 1
    assert done.ledger["transcription"]["removed"]["segments"] == 3


def test_without_transcribe_the_words_go_and_the_recording_stays(project, reporter, facilitator):
    story, _ = _story_with_clip(project, reporter, facilitator)
    keep = story.current_consent.scopes - {"transcribe"}

    services.consent_withdraw(story=story, user=reporter, keep=keep)
    erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    assert StoryPage.objects.filter(pk=story.pk).exists()
    assert not Segment.objects.filter(story=story).exists()
    assert not Clip.objects.filter(story=story).exists()
    assert StoryMedia.objects.filter(story=story, role=StoryMedia.Role.RECORDING).exists()


def test_without_voice_clips_stay_as_words_only(project, reporter, facilitator):
    story, clip = _story_with_clip(project, reporter, facilitator)
    name = clip.file.name

    services.consent_withdraw(
        story=story, user=reporter, keep=story.current_consent.scopes - {"voice"}
    )
    erasure.erasure_run(request_id=ErasureRequest.objects.get().pk)

    clip.refresh_from_db()
    assert clip.status == ClipStatus.TEXT_ONLY and not clip.file and clip.text
    assert not clip_services.clip_storage_folder(clip) or not clip.file.storage.exists(name)


def test_originals_go_some_days_after_the_transcript_is_verified(project, reporter, steward):
    from cms.daily import daily_run

    story = clipkit.jfk_story(project, reporter)
    project.delete_originals_after_verified_days = 30
    project.save()
    Transcript.objects.filter(story=story).update(
        verified_at=timezone.now() - timedelta(days=40), verified_by=steward
    )
    original = StoryMedia.objects.get(story=story, role=StoryMedia.Role.RECORDING)
    storage, name = original.file.storage, original.file.name

    outcome = daily_run(today=timezone.localdate())

    assert "1 original recordings deleted" in outcome["originals-after-verification"]
    assert not StoryMedia.objects.filter(pk=original.pk).exists()
    assert not storage.exists(name)
    assert Segment.objects.filter(story=story).exists()


def test_originals_are_kept_when_the_project_does_not_ask(project, reporter, steward):
    from cms.daily import daily_run

    story = clipkit.jfk_story(project, reporter)
    Transcript.objects.filter(story=story).update(
        verified_at=timezone.now() - timedelta(days=400), verified_by=steward
    )

    daily_run(today=date.today())

    assert StoryMedia.objects.filter(story=story, role=StoryMedia.Role.RECORDING).exists()
