"""Helpers for the clip, caption and redacted-audio tests: a story with a current transcript
whose lines and word times are given (the real engine runs in test_redacted_audio.py)."""

from stories.models import StoryPage
from tests import factories
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

# jfk.flac (11 s), as three lines with roughly where they are said.
JFK_LINES = [
    (0.3, 3.0, "And so my fellow Americans,"),
    (3.3, 7.4, "ask not what your country can do for you,"),
    (7.6, 10.8, "ask what you can do for your country."),
]


def _words(start, end, text):
    if start is None:
        return []
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [
        {
            "text": f" {token}",
            "start": round(start + i * step, 3),
            "end": round(start + (i + 1) * step, 3),
            "probability": 0.9,
        }
        for i, token in enumerate(tokens)
    ]


def add_transcript(story, lines, *, current=True, model="test") -> Transcript:
    """A finished job and transcript for the story, with a segment per (start, end, text)."""
    job = TranscriptionJob.objects.create(
        story=story, model=model, status=JobStatus.DONE, progress=100
    )
    ends = [end for _, end, _ in lines if end is not None]
    transcript = Transcript.objects.create(
        story=story,
        job=job,
        model_id=model,
        language="en",
        duration_seconds=max(ends) if ends else None,
        is_current=current,
    )
    Segment.objects.bulk_create(
        Segment(
            transcript=transcript,
            story=story,
            index=i,
            start=start,
            end=end,
            text=text,
            words=_words(start, end, text),
        )
        for i, (start, end, text) in enumerate(lines)
    )
    return transcript


def jfk_story(project, reporter, *, scopes=None, live=True, title="Waiting room", **fields):
    """A recorded story (jfk.flac) with its transcript; approved (`live`) so that the
    project's facilitators can see it."""
    story = factories.story(project, reporter, title=title, scopes=scopes, **fields)
    add_transcript(story, JFK_LINES)
    if live:
        StoryPage.objects.filter(pk=story.pk).update(live=True)
        story.refresh_from_db()
    return story


def written_story(project, reporter, *, live=True):
    text = "I waited two hours.\n\nNobody told me why."
    story = factories.story(project, reporter, title="Written", text=text)
    add_transcript(
        story, [(None, None, "I waited two hours."), (None, None, "Nobody told me why.")]
    )
    if live:
        StoryPage.objects.filter(pk=story.pk).update(live=True)
        story.refresh_from_db()
    return story


def segment(story, index) -> Segment:
    return Segment.objects.get(story=story, transcript__is_current=True, index=index)


def span(segment_, word: str) -> tuple[int, int]:
    at = segment_.text.index(word)
    return at, at + len(word)
