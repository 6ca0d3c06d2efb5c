"""Transcripts with word timings for the redaction tests, stored as the transcription job
stores them (a done job, a current transcript, segments whose text is their words joined)."""

from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

WORD_SECONDS = 0.5  # each word starts half a second after the one before
WORD_LENGTH = 0.4


def timed_transcript(story, texts, *, model="whisper-test", current=True, timed=True):
    """A transcript of `story` with one segment per text; word i of the whole transcript is
    spoken from i*0.5 s to i*0.5+0.4 s. `timed=False` makes a written story's segments."""
    job = TranscriptionJob.objects.create(story=story, model=model, status=JobStatus.DONE)
    if current:
        Transcript.objects.filter(story=story, is_current=True).update(is_current=False)
    transcript = Transcript.objects.create(story=story, job=job, model_id=model, is_current=current)
    clock = 0.0
    for index, text in enumerate(texts):
        words = []
        for token in text.split():
            words.append(
                {
                    "text": " " + token,
                    "start": round(clock, 3),
                    "end": round(clock + WORD_LENGTH, 3),
                    "probability": 0.9,
                }
            )
            clock += WORD_SECONDS
        Segment.objects.create(
            transcript=transcript,
            story=story,
            index=index,
            start=words[0]["start"] if timed else None,
            end=words[-1]["end"] if timed else None,
            text=" ".join(text.split()),
            words=words if timed else [],
        )
    return transcript


def word_time(n: int) -> tuple[float, float]:
    """When word n (counting from 0 across the whole transcript) is spoken."""
    return n * WORD_SECONDS, n * WORD_SECONDS + WORD_LENGTH
