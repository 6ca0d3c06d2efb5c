"""A stand-in engine for testing the code around the engine (jobs, leases, retries, the
UI). The real engine runs in test_transcribe_command.py, test_rq.py and the kill -9 test."""

from transcription.results import SegmentResult, TranscriptResult, WordResult

SAMPLE_RATE = 16_000


class FakeEngine:
    model_id = "fake/1"

    def __init__(self, *, fail_times=0, error=None, always_fail=False):
        self.calls = 0
        self.fail_times = fail_times
        self.always_fail = always_fail
        self.error = error or RuntimeError("the model file is missing")

    def transcribe(self, audio, *, language, vocabulary=(), offset=0.0, on_progress=None):
        self.calls += 1
        if self.always_fail or self.calls <= self.fail_times:
            raise self.error
        if on_progress:
            on_progress(0.5)
            on_progress(1.0)
        end = offset + len(audio) / SAMPLE_RATE
        middle = (offset + end) / 2
        return TranscriptResult(
            model_id=self.model_id,
            language=language or "en",
            language_probability=None if language else 0.97,
            duration=end - offset,
            segments=[
                SegmentResult(
                    start=offset,
                    end=middle,
                    text=" And so my fellow Americans",
                    words=(WordResult(" And", offset, offset + 0.4, 0.9),),
                    avg_logprob=-0.2,
                    no_speech_prob=0.01,
                    compression_ratio=1.1,
                ),
                SegmentResult(
                    start=middle,
                    end=end,
                    text=" ask not what your country can do for you",
                    words=(WordResult(" ask", middle, middle + 0.3, 0.2),),
                    avg_logprob=-1.5,
                    no_speech_prob=0.02,
                    compression_ratio=1.2,
                    flags=("low_confidence",),
                ),
            ],
        )
