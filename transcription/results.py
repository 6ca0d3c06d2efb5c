"""What an engine gives back: plain data, no Django, no heavy imports. The contract between
the engines/pipeline (engines.py, pipeline.py) and the jobs that store it (services.py)."""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WordResult:
    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class SegmentResult:
    start: float  # seconds from the start of the recording
    end: float
    text: str
    words: tuple[WordResult, ...] = ()
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    flags: tuple[str, ...] = ()  # see pipeline.FLAGS


@dataclass(frozen=True)
class TranscriptResult:
    model_id: str  # e.g. "faster-whisper/base/int8/beam5" — identifies model and settings
    language: str
    language_probability: float | None
    duration: float
    segments: list[SegmentResult] = field(default_factory=list)


# Called with a fraction 0.0–1.0 as the work advances.
ProgressCallback = Callable[[float], None]
