"""Speech-to-text engines behind one small Protocol.

Only workers load an engine: ctranslate2 and faster_whisper are imported inside
FasterWhisperEngine, never at module level, so the web process can import this module
(for settings, model ids) without pulling in the inference libraries.
"""

import os
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from transcription import models_cache
from transcription.results import ProgressCallback, SegmentResult, TranscriptResult, WordResult

SAMPLE_RATE = 16_000


@runtime_checkable
class TranscriptionEngine(Protocol):
    model_id: str  # identifies the model and the settings that shape the text

    def transcribe(
        self,
        audio: np.ndarray,  # 16 kHz mono float32
        *,
        language: str | None,
        vocabulary: Sequence[str] = (),
        offset: float = 0.0,
        on_progress: ProgressCallback | None = None,
    ) -> TranscriptResult: ...


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def vocabulary_prompt(vocabulary: Sequence[str]) -> str | None:
    """Project words (names, places, jargon) as one short hint for the decoder."""
    words = [w.strip() for w in vocabulary if w and w.strip()]
    return ", ".join(dict.fromkeys(words)) or None


class FasterWhisperEngine:
    """faster-whisper (CTranslate2) on the CPU, with a model from a local folder."""

    def __init__(
        self,
        model: str = "base",
        compute_type: str = "int8",
        beam_size: int = 5,
        cpu_threads: int = 0,
        vad_filter: bool = True,
    ):
        from faster_whisper import WhisperModel

        self.model_name = model
        self.model_dir = models_cache.model_path(model)
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads or _cpu_count()
        self.vad_filter = vad_filter
        label = models_cache.model_label(model)
        self.model_id = f"faster-whisper/{label}/{compute_type}/beam{beam_size}" + (
            "" if vad_filter else "/novad"
        )
        # local_files_only: a folder is always given, but never let it reach the network.
        self._model = WhisperModel(
            str(self.model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=self.cpu_threads,
            local_files_only=True,
        )
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe_options(self, *, language, vocabulary=()) -> dict:
        """The keyword arguments given to WhisperModel.transcribe (also used by the bench,
        so that "faster-whisper directly" runs with exactly the same settings)."""
        return {
            "language": language if self.multilingual else "en",
            "beam_size": self.beam_size,
            "word_timestamps": True,
            "vad_filter": self.vad_filter,
            # Hotwords, not initial_prompt: faster-whisper puts hotwords in the prompt of
            # every 30-second chunk, while an initial prompt only shapes the first chunk
            # and is pushed out by the text already transcribed.
            "hotwords": vocabulary_prompt(vocabulary),
        }

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        vocabulary: Sequence[str] = (),
        offset: float = 0.0,
        on_progress: ProgressCallback | None = None,
    ) -> TranscriptResult:
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        duration = len(audio) / SAMPLE_RATE
        segments_iter, info = self._model.transcribe(
            audio, **self.transcribe_options(language=language, vocabulary=vocabulary)
        )
        segments = []
        for segment in segments_iter:  # a generator: the work happens as we iterate
            segments.append(_segment_result(segment, offset))
            if on_progress and duration:
                on_progress(min(1.0, max(0.0, segment.end / duration)))
        if on_progress:
            on_progress(1.0)
        return TranscriptResult(
            model_id=self.model_id,
            language=info.language,
            language_probability=info.language_probability,
            duration=duration,
            segments=segments,
        )


def _segment_result(segment, offset: float) -> SegmentResult:
    words = []
    previous_end = segment.start
    for word in segment.words or ():
        start = max(word.start, previous_end)  # keep word times increasing
        end = max(word.end, start)
        words.append(
            WordResult(
                text=word.word.strip(),
                start=round(start + offset, 3),
                end=round(end + offset, 3),
                probability=round(float(word.probability), 4),
            )
        )
        previous_end = end
    start = segment.start + offset
    end = max(segment.end + offset, words[-1].end if words else start)
    return SegmentResult(
        start=round(start, 3),
        end=round(end, 3),
        text=segment.text.strip(),
        words=tuple(words),
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
        compression_ratio=float(segment.compression_ratio),
    )


_engines: dict[tuple, TranscriptionEngine] = {}
_lock = threading.Lock()


def engine_options_from_settings() -> dict:
    from django.conf import settings

    return {
        "compute_type": settings.WHISPER_COMPUTE_TYPE,
        "beam_size": settings.WHISPER_BEAM_SIZE,
        "cpu_threads": settings.WHISPER_CPU_THREADS,
    }


def get_engine(model: str | None = None, **options) -> TranscriptionEngine:
    """One loaded engine per (model, options) per process: loading takes seconds."""
    from django.conf import settings

    model = model or settings.WHISPER_MODEL
    options = {**engine_options_from_settings(), **options}
    key = (model, tuple(sorted(options.items())))
    with _lock:
        if key not in _engines:
            _engines[key] = FasterWhisperEngine(model, **options)
        return _engines[key]


def engine_model_id(model: str | None = None, **options) -> str:
    """The model id an engine would report, without loading it (for the web process)."""
    from django.conf import settings

    model = model or settings.WHISPER_MODEL
    options = {**engine_options_from_settings(), **options}
    return f"faster-whisper/{models_cache.model_label(model)}/{options['compute_type']}/beam" + (
        f"{options['beam_size']}" + ("" if options.get("vad_filter", True) else "/novad")
    )
