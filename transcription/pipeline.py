"""A recording file in, a flagged, time-coded transcript out.

probe → decode (in a limited child process, to a temporary file) → windows of about
``TRANSCRIPTION_WINDOW_S`` seconds (default 5 minutes) cut at the quietest moment → the
engine on each window → one transcript with flags for the passages a person should check.

Memory stays bounded whatever the length: the decoded samples stay on disk and only one
window (5 minutes: 19 MB of float32) is read and handed to the engine at a time.
No inference library is imported here; the engine is passed in.
"""

import dataclasses
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from transcription import media
from transcription.results import ProgressCallback, SegmentResult, TranscriptResult

SAMPLE_RATE = media.SAMPLE_RATE

LOW_CONFIDENCE = "low_confidence"
POSSIBLE_HALLUCINATION = "possible_hallucination"
FLAGS = (LOW_CONFIDENCE, POSSIBLE_HALLUCINATION)
FLAG_LABELS = {
    LOW_CONFIDENCE: "The words here may be wrong. Please listen and check.",
    POSSIBLE_HALLUCINATION: "This text may not have been said. Please listen and check.",
}

# Thresholds, checked against the fixtures (see tests/transcription/test_pipeline.py):
# clean speech there has avg_logprob ≥ -0.6 and mean word probability ≥ 0.75 per segment,
# while Whisper's own fallback threshold for a failed decode is avg_logprob < -1.0.
LOW_LOGPROB = -1.0
LOW_WORD_PROBABILITY = 0.5
HIGH_COMPRESSION_RATIO = 2.4  # Whisper's own threshold for repetitive output
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -0.5  # with no_speech_prob above: text over probable silence
REPEATS = 3  # the same phrase three times in a row is a loop, not speech

SEARCH_S = 30.0  # look for the quietest point in the last 30 s of each window
FRAME_S = 0.1  # RMS energy measured over 100 ms frames


def transcribe_file(
    path: Path,
    *,
    engine,
    language: str | None = None,
    vocabulary: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    window_s: float | None = None,
) -> TranscriptResult:
    """Transcribe a recording. Raises media.MediaError (plain message) for bad files."""
    path = Path(path)
    info = media.probe(path)
    window_s = float(window_s or settings.TRANSCRIPTION_WINDOW_S)
    reported = [0.0]

    def report(fraction: float) -> None:
        fraction = min(1.0, max(reported[0], fraction))  # never goes backwards
        reported[0] = fraction
        if on_progress:
            on_progress(fraction)

    report(0.0)
    with tempfile.TemporaryDirectory(prefix="storyloom-decode-") as tmp:
        pcm_path = Path(tmp) / "audio.s16"
        total = media.decode_to_file(path, pcm_path, duration=info.duration)
        pcm = media.load_pcm(pcm_path)
        windows = split_windows(pcm, window_s=window_s)
        segments: list[SegmentResult] = []
        detected = None
        for start, end in windows:
            audio = media.to_float(pcm[start:end])

            def window_progress(fraction, start=start, end=end):
                report((start + fraction * (end - start)) / total)

            result = engine.transcribe(
                audio,
                language=language,
                vocabulary=vocabulary,
                offset=start / SAMPLE_RATE,
                on_progress=window_progress,
            )
            if detected is None or (language is None and not segments):
                detected = result
            if language is None and result.segments:
                language = result.language  # detected once, then fixed for the rest
            window_end = end / SAMPLE_RATE
            for segment in result.segments:
                segments.append(_within(segment, segments, window_end))
            del audio, result
            _release_memory()
    report(1.0)
    flagged = flag_segments(segments)
    return TranscriptResult(
        model_id=engine.model_id,
        language=language or (detected.language if detected else "") or "",
        language_probability=detected.language_probability if detected else None,
        duration=total / SAMPLE_RATE,
        segments=flagged,
    )


def _release_memory() -> None:
    """Hand freed memory back to the system between windows, so that one window's
    temporary buffers do not add to the next one's peak (glibc only; harmless elsewhere)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _within(segment: SegmentResult, before: list[SegmentResult], window_end: float):
    """Keep times increasing across windows and inside the window they came from."""
    floor = before[-1].end if before else 0.0
    start = min(max(segment.start, floor), window_end)
    end = min(max(segment.end, start), window_end)
    words = tuple(
        dataclasses.replace(
            w, start=min(max(w.start, start), end), end=min(max(w.end, w.start, start), end)
        )
        for w in segment.words
    )
    return dataclasses.replace(segment, start=start, end=end, words=words)


def split_windows(samples, *, window_s: float) -> list[tuple[int, int]]:
    """(start, end) sample ranges of about ``window_s`` seconds, cut at the quietest
    100 ms within the last ``SEARCH_S`` seconds (or the last half, for short windows)."""
    import numpy as np

    total = len(samples)
    window = int(window_s * SAMPLE_RATE)
    search = int(min(SEARCH_S, window_s / 2) * SAMPLE_RATE)
    frame = int(FRAME_S * SAMPLE_RATE)
    windows = []
    start = 0
    while total - start > window:
        lo, hi = start + window - search, start + window
        region = np.asarray(samples[lo:hi], dtype=np.float32)
        frames = len(region) // frame
        energy = (region[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)
        cut = lo + int(np.argmin(energy)) * frame + frame // 2
        windows.append((start, cut))
        start = cut
    if total - start > 0:
        windows.append((start, total))
    return windows


def flag_segments(segments: list[SegmentResult]) -> list[SegmentResult]:
    flagged = []
    for index, segment in enumerate(segments):
        flags = set(segment.flags)
        if is_low_confidence(segment):
            flags.add(LOW_CONFIDENCE)
        previous = [s.text for s in segments[max(0, index - REPEATS + 1) : index]]
        if is_possible_hallucination(segment, previous):
            flags.add(POSSIBLE_HALLUCINATION)
        flagged.append(dataclasses.replace(segment, flags=tuple(f for f in FLAGS if f in flags)))
    return flagged


def mean_word_probability(segment: SegmentResult) -> float | None:
    if not segment.words:
        return None
    return sum(w.probability for w in segment.words) / len(segment.words)


def is_low_confidence(segment: SegmentResult) -> bool:
    if segment.avg_logprob is not None and segment.avg_logprob < LOW_LOGPROB:
        return True
    mean = mean_word_probability(segment)
    return mean is not None and mean < LOW_WORD_PROBABILITY


def is_possible_hallucination(segment: SegmentResult, previous_texts: Sequence[str] = ()) -> bool:
    if segment.compression_ratio is not None and segment.compression_ratio > HIGH_COMPRESSION_RATIO:
        return True
    if (
        segment.no_speech_prob is not None
        and segment.no_speech_prob > NO_SPEECH_PROB
        and (segment.avg_logprob is None or segment.avg_logprob < NO_SPEECH_LOGPROB)
    ):
        return True
    if has_repetition_loop(segment.text):
        return True
    # The same sentence again and again across segments is Whisper stuck in a loop.
    text = _words(segment.text)
    return (
        bool(text)
        and len(previous_texts) >= REPEATS - 1
        and all(_words(p) == text for p in previous_texts)
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+(?:'\w+)?", text.lower())


def has_repetition_loop(text: str, *, repeats: int = REPEATS, max_n: int = 8) -> bool:
    """The same n-gram (2–8 words) three or more times in a row, or one word five times:
    people repeat a word for emphasis ("no, no, no"), Whisper loops on phrases."""
    words = _words(text)
    for n in range(1, max_n + 1):
        needed = 5 if n == 1 else repeats
        for i in range(0, len(words) - n * needed + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(1, needed)):
                return True
    return False


_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+")


def segment_text(text: str, *, max_chars: int = 600) -> list[str]:
    """A written story as segments: one per paragraph, long paragraphs split between
    sentences into parts of at most about ``max_chars`` characters."""
    paragraphs = [
        " ".join(block.split()) for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    ]
    parts = []
    for paragraph in filter(None, paragraphs):
        if len(paragraph) <= max_chars:
            parts.append(paragraph)
            continue
        current = ""
        for sentence in _split_sentences(paragraph):
            if current and len(current) + 1 + len(sentence) > max_chars:
                parts.append(current)
                current = sentence
            else:
                current = f"{current} {sentence}".strip()
        if current:
            parts.append(current)
    return parts


def _split_sentences(paragraph: str) -> list[str]:
    sentences, last = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        sentences.append(paragraph[last : match.end()].strip())
        last = match.end()
    sentences.append(paragraph[last:].strip())
    return [s for s in sentences if s]
