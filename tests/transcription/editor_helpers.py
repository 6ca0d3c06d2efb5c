"""A transcript of jfk.flac as the real tiny.en engine made it (faster-whisper 1.2.1, int8):
real segment and word timings, stored directly so the editor tests need not run the engine."""

from copy import deepcopy

from stories.models import MediaState, StoryMedia, StoryPage
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob


def _words(*items):
    return [{"text": t, "start": s, "end": e, "probability": p} for t, s, e, p in items]


JFK_SEGMENTS = [
    {
        "start": 0.0,
        "end": 8.06,
        "text": "And so, my fellow Americans ask not what your country can do for you",
        "words": _words(
            ("And", 0.0, 0.74, 0.6698),
            ("so,", 0.74, 1.08, 0.9776),
            ("my", 1.38, 1.42, 0.9705),
            ("fellow", 1.42, 1.76, 0.9994),
            ("Americans", 1.76, 2.26, 0.8723),
            ("ask", 2.26, 3.88, 0.6377),
            ("not", 3.88, 4.56, 0.8002),
            ("what", 4.56, 5.7, 0.8816),
            ("your", 5.7, 6.02, 0.985),
            ("country", 6.02, 6.36, 0.9969),
            ("can", 6.36, 6.76, 0.9956),
            ("do", 6.76, 7.02, 0.9986),
            ("for", 7.02, 7.26, 0.9881),
            ("you", 7.26, 8.06, 0.9906),
        ),
        "avg_logprob": -0.2987,
        "no_speech_prob": 0.0718,
        "compression_ratio": 1.3418,
        "flags": [],
    },
    {
        "start": 8.06,
        "end": 10.5,
        "text": "ask what you can do for your country.",
        "words": _words(
            ("ask", 8.06, 8.66, 0.1805),
            ("what", 8.66, 8.94, 0.981),
            ("you", 8.94, 9.28, 0.9906),
            ("can", 9.28, 9.5, 0.9961),
            ("do", 9.5, 9.72, 0.9979),
            ("for", 9.72, 9.92, 0.9977),
            ("your", 9.92, 10.24, 0.9937),
            ("country.", 10.24, 10.5, 0.9988),
        ),
        "avg_logprob": -0.2987,
        "no_speech_prob": 0.0718,
        "compression_ratio": 1.3418,
        # As the pipeline marks a doubtful segment (its first word scored 0.18).
        "flags": ["low_confidence"],
    },
]


def make_transcript(story: StoryPage, segments=None, *, model="tiny.en", current=True):
    """A finished job and its transcript for the story, with the given segments (default:
    the real tiny.en transcript of jfk.flac). Marks the story as transcribed.

    Approve a story before this, not after: publishing the revision made before
    transcription puts back its media state, and approval then queues a transcription."""
    media = story.media.filter(role=StoryMedia.Role.RECORDING).first()
    # The job the story's submission or approval queued (if any) is the one that finished.
    job = TranscriptionJob.objects.filter(story=story, status=JobStatus.QUEUED).first()
    if job is None:
        job = TranscriptionJob(story=story, media=media, model=model)
    job.status, job.progress = JobStatus.DONE, 100
    job.save()
    transcript = Transcript.objects.create(
        story=story,
        job=job,
        model_id=f"faster-whisper/{model}",
        language="en",
        duration_seconds=11.0,
        is_current=current,
    )
    rows = []
    for index, data in enumerate(deepcopy(segments or JFK_SEGMENTS)):
        rows.append(Segment.objects.create(transcript=transcript, story=story, index=index, **data))
    StoryPage.objects.filter(pk=story.pk).update(media_state=MediaState.READY)
    story.media_state = MediaState.READY  # a later page save must not undo it
    return transcript, rows
