"""What transcription removes when a story is erased (stories.erasure), or when "transcribe"
is no longer agreed: transcripts, segments with their words, revisions, redactions, the
story's name list and jobs. Clips have their own step (clip_services.clips_erasure_step),
which runs first. Playable copies and stills are story media: the stories step deletes them.
Counts only, no text."""

from datetime import date, timedelta

from transcription.models import (
    NameListEntry,
    Redaction,
    RedactionStatus,
    Segment,
    SegmentRevision,
    Transcript,
    TranscriptionJob,
)
from transcription.redaction import redacted_text


def transcription_erasure_step(scope) -> dict[str, int]:
    if getattr(scope, "anonymise", False):
        return transcription_anonymise(story_id=scope.story_id)
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


def transcription_anonymise(*, story_id: int) -> dict[str, int]:
    """For a story being anonymised (stories.erasure.stories_anonymise): redactions become
    permanent. Suggestions nobody decided on are accepted first (a name the finder spotted
    must not stay because nobody got to it; one a person chose to keep stays), and the
    themes are told at once, so their keywords lose those words too. Then each line of the
    current transcript becomes its redacted text; word timings (they hold the hidden words,
    and no recording is left to time), earlier versions of lines, the redaction rows, the
    story's name list and earlier transcripts go. A written story's text becomes the
    transcript's. Counts only."""
    from django.utils import timezone

    from stories.models import StoryKind, StoryPage
    from transcription.signals import redactions_changed

    accepted = Redaction.objects.filter(story_id=story_id, status=RedactionStatus.SUGGESTED).update(
        status=RedactionStatus.ACCEPTED, decided_at=timezone.now()
    )
    if accepted:
        redactions_changed.send(sender=Redaction, story_id=story_id)
    current = list(
        Segment.objects.filter(story_id=story_id, transcript__is_current=True)
        .prefetch_related("redactions")
        .order_by("index")
    )
    changed = 0
    for segment in current:
        text = redacted_text(segment)
        if text != segment.text or segment.words:
            Segment.objects.filter(pk=segment.pk).update(
                text=text, words=[], version=segment.version + 1
            )
            changed += 1
            segment.text = text
    removed = {
        "suggested redactions accepted": accepted,
        "lines with hidden words made permanent": changed,
        "transcript changes": SegmentRevision.objects.filter(story_id=story_id).delete()[0],
        "redactions": Redaction.objects.filter(story_id=story_id).delete()[0],
        "names to hide": NameListEntry.objects.filter(story_id=story_id).delete()[0],
        "earlier transcripts": Transcript.objects.filter(story_id=story_id, is_current=False)
        .delete()[1]
        .get(Transcript._meta.label, 0),
    }
    removed["clips' words made permanent"] = _refresh_clip_words(story_id)
    # The recordings are about to go (stories' step); a job must not go with its recording
    # (deleting the job would take the transcript with it), and its message may quote it.
    TranscriptionJob.objects.filter(story_id=story_id).update(media=None, error="")
    story = StoryPage.objects.filter(pk=story_id, kind=StoryKind.TEXT).first()
    if story is not None and story.text_body and current:
        StoryPage.objects.filter(pk=story_id).update(
            text_body="\n\n".join(segment.text for segment in current)
        )
    return removed


def _refresh_clip_words(story_id: int) -> int:
    """Clips keep their (now permanent) words and captions; a title made from the words
    is made again from them."""
    from transcription.clip_services import _default_title, _words_and_captions
    from transcription.models import Clip

    changed = 0
    for clip in Clip.objects.filter(story_id=story_id):
        text, vtt = _words_and_captions(clip.segments.order_by("index"), clip.start, clip.end)
        title = _default_title(text) if clip.title == _default_title(clip.text) else clip.title
        if (text, vtt, title) != (clip.text, clip.captions, clip.title):
            Clip.objects.filter(pk=clip.pk).update(text=text, captions=vtt, title=title)
            changed += 1
    return changed


def originals_after_verification(today: date) -> str:
    """The daily job: where a project asks for it, delete original recordings some days
    after their transcript was verified. The redacted playable copy stays."""
    from cms.models import ProjectPage
    from stories.erasure import _delete_file
    from stories.models import StoryMedia

    deleted = 0
    for project in ProjectPage.objects.filter(delete_originals_after_verified_days__isnull=False):
        cutoff = today - timedelta(days=project.delete_originals_after_verified_days)
        verified = Transcript.objects.filter(is_current=True, verified_at__date__lt=cutoff).values(
            "story_id"
        )
        originals = StoryMedia.objects.filter(
            role=StoryMedia.Role.RECORDING,
            story_id__in=verified,
            story__path__startswith=project.path,
        )
        for media in originals:
            deleted += _delete_file(media.file)
            # The job that transcribed it points at it: deleting the recording must not
            # take the job, and with it the transcript, along.
            TranscriptionJob.objects.filter(media=media).update(media=None)
            media.delete()
    return f"{deleted} original recordings deleted after their transcript was verified"
