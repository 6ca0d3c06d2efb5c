"""What transcription removes when a story is erased (stories.erasure), or when "transcribe"
is no longer agreed: transcripts, segments with their words, revisions, redactions, the
story's name list and jobs. Clips have their own step (clip_services.clips_erasure_step),
which runs first. Playable copies and stills are story media: the stories step deletes them.
Counts only, no text."""

from datetime import date, timedelta

from transcription.models import (
    NameListEntry,
    Redaction,
    Segment,
    SegmentRevision,
    Transcript,
    TranscriptionJob,
)


def transcription_erasure_step(scope) -> dict[str, int]:
    if not scope.lost("transcribe", "record"):
        return {}
    story_id = scope.story_id
    removed = {
        "transcript changes": SegmentRevision.objects.filter(story_id=story_id).delete()[0],
        "redactions": Redaction.objects.filter(story_id=story_id).delete()[0],
        "names to hide": NameListEntry.objects.filter(story_id=story_id).delete()[0],
        "segments": Segment.objects.filter(story_id=story_id).delete()[0],
        "transcripts": Transcript.objects.filter(story_id=story_id).delete()[0],
        "transcription jobs": TranscriptionJob.objects.filter(story_id=story_id).delete()[0],
    }
    return removed


def originals_after_verification(today: date) -> str:
    """The daily job: where a project asks for it, delete original recordings some days
    after their transcript was verified. The redacted playable copy stays."""
    from cms.models import ProjectPage
    from stories.erasure import _delete_file
    from stories.models import StoryMedia

    deleted = 0
    for project in ProjectPage.objects.filter(delete_originals_after_verified_days__isnull=False):
        cutoff = today - timedelta(days=project.delete_originals_after_verified_days)
        verified = Transcript.objects.filter(
            is_current=True, verified_at__date__lt=cutoff
        ).values("story_id")
        originals = StoryMedia.objects.filter(
            role=StoryMedia.Role.RECORDING,
            story_id__in=verified,
            story__path__startswith=project.path,
        )
        for media in originals:
            deleted += _delete_file(media.file)
            media.delete()
    return f"{deleted} original recordings deleted after their transcript was verified"
