"""Recordings in, 16 kHz samples out, without ever decoding in the worker's own process.

PyAV can crash or run away on a broken file, so every step that decodes (probe, decode,
the playable copy, the poster) runs ``transcription.decode_worker`` in a child process
with limits on memory, CPU time and wall time, no core dumps, and local files only.
Whatever goes wrong there comes back here as a MediaError with a plain message.
"""

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from stories.media import _sniff

SAMPLE_RATE = 16_000
PR_SET_PDEATHSIG = 1  # linux/prctl.h
MAX_STREAMS = 16
MAX_AUDIO_STREAMS = 8

# The child process; a list so that tests can put a misbehaving one in its place.
WORKER = [sys.executable, "-m", "transcription.decode_worker"]

UNREADABLE = (
    "We could not read this recording. It may be damaged or cut short. "
    "Please record or upload it again."
)
NOT_A_RECORDING = (
    "This file is not a sound or video recording we can use. Please choose an audio or video file."
)
NO_SOUND = "This recording has no sound. Please check the microphone and record it again."
CUT_SHORT = (
    "This recording seems to be cut short or damaged. Please upload the whole recording again."
)
GAVE_UP = (
    "We could not finish reading this recording in time. We will try again later. "
    "If this keeps happening, please upload the recording again."
)


class MediaError(Exception):
    """A recording we cannot use. ``message`` is for the reporter; ``needs_reupload`` is
    True when the file itself is the problem (trying again will not help)."""

    def __init__(self, message: str, *, needs_reupload: bool = True, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.needs_reupload = needs_reupload
        self.detail = detail  # for logs: never shown to users


@dataclass(frozen=True)
class MediaProbe:
    format: str
    duration: float | None
    streams: int
    audio_streams: int
    video_streams: int
    sample_rate: int | None
    channels: int | None
    width: int | None = None
    height: int | None = None

    @property
    def has_video(self) -> bool:
        return self.video_streams > 0


def _memory_limit() -> int:
    return int(getattr(settings, "TRANSCRIPTION_DECODE_MEMORY_BYTES", 1024**3))


def _die_with_parent(parent: int) -> None:
    """Linux: the decode process is killed when the worker that started it dies (a worker
    killed with SIGKILL would otherwise leave it rendering, for nothing, to the end)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl: nothing would send the signal
        os._exit(1)


def _limits(memory: int, cpu_seconds: int):
    parent = os.getpid()  # here, in the worker, before the fork

    def apply():
        _die_with_parent(parent)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dumps of recordings

    return apply


def run_worker(args: list[str], *, timeout: float, memory: int | None = None) -> dict:
    """Run the decode worker with limits; its JSON answer, or MediaError."""
    memory = memory or _memory_limit()
    timeout = max(10, int(timeout))
    try:
        completed = subprocess.run(
            [*WORKER, *map(str, args)],
            capture_output=True,
            timeout=timeout,
            # CPU time counts all threads (an encoder uses two): allow for them.
            preexec_fn=_limits(memory, timeout * 2),
            cwd=settings.BASE_DIR,
            env={
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": str(settings.BASE_DIR),
                "OMP_NUM_THREADS": "1",
            },
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise MediaError(GAVE_UP, needs_reupload=False, detail="timeout") from None
    if completed.returncode < 0:  # killed by a signal: segfault, CPU limit, OOM
        raise MediaError(UNREADABLE, needs_reupload=False, detail=f"signal {-completed.returncode}")
    try:
        answer = json.loads(completed.stdout.decode() or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        answer = {}
    if not answer:
        detail = completed.stderr.decode(errors="replace")[-500:]
        raise MediaError(UNREADABLE, needs_reupload=False, detail=f"no answer: {detail}")
    if answer.get("error") == "no_audio":
        raise MediaError(NO_SOUND)
    if answer.get("error") == "memory":
        raise MediaError(UNREADABLE, needs_reupload=False, detail="memory limit")
    if "error" in answer:
        raise MediaError(UNREADABLE, detail=str(answer))
    return answer


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        raise MediaError(
            "We cannot find this recording on the server. Please upload it again."
        ) from None
    if size == 0:
        raise MediaError("The file is empty. Please record or choose the file again.")
    if not _sniff(path):
        raise MediaError(NOT_A_RECORDING)


def probe(path: Path) -> MediaProbe:
    """What is in the file; refuses files we cannot or should not transcribe."""
    path = Path(path)
    _check_file(path)
    info = run_worker(["probe", path], timeout=settings.STORYLOOM_PROBE_TIMEOUT_S)
    found = MediaProbe(**{k: info.get(k) for k in MediaProbe.__dataclass_fields__})
    if found.streams > MAX_STREAMS or found.audio_streams > MAX_AUDIO_STREAMS:
        raise MediaError(
            "This file has too many tracks in it. "
            "Please save or export it again as a single recording."
        )
    if not found.audio_streams:
        raise MediaError(NO_SOUND)
    cap = settings.TRANSCRIPTION_MAX_DURATION_S
    if found.duration and found.duration > cap:
        raise MediaError(
            f"This recording is too long ({_hours_minutes(found.duration)}). "
            f"The limit is {_hours_minutes(cap)}. "
            "Please split it into shorter parts and upload each part."
        )
    return found


def _hours_minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{int(round(seconds))} seconds"
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if minutes or not hours:
        parts.append(f"{minutes} minute" + ("s" if minutes != 1 else ""))
    return " and ".join(parts)


def _work_timeout(duration: float | None, *, per_second: float, base: float = 60) -> float:
    return base + (duration or settings.TRANSCRIPTION_MAX_DURATION_S) * per_second


def decode_to_file(path: Path, out_path: Path, *, duration: float | None = None) -> int:
    """Decode the first audio stream to 16 kHz mono 16-bit PCM in ``out_path`` (raw).

    Returns the number of samples. The same resampling as faster-whisper's own decoder,
    so the samples are identical to what it would have used.
    """
    answer = run_worker(
        ["decode", Path(path), Path(out_path)],
        timeout=_work_timeout(duration, per_second=0.25),
    )
    samples = int(answer.get("samples") or 0)
    if samples < SAMPLE_RATE // 10:
        raise MediaError("We could not play any sound from this recording. Please record it again.")
    expected = answer.get("expected_duration") or duration
    if expected and samples / SAMPLE_RATE < 0.8 * expected - 2:
        raise MediaError(CUT_SHORT, detail=f"{samples / SAMPLE_RATE:.1f}s of {expected:.1f}s")
    return samples


class PcmFile:
    """Decoded 16-bit samples on disk, read a slice at a time (``pcm[a:b]``).

    Read with ordinary file reads rather than a memory map: mapped pages count towards the
    worker's resident memory for as long as they stay mapped (115 MB an hour of audio)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._length = self.path.stat().st_size // 2

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: slice):
        import numpy as np

        start, stop, step = key.indices(self._length)
        if step != 1:
            raise ValueError("PcmFile reads contiguous ranges only")
        count = max(0, stop - start)
        return np.fromfile(self.path, dtype=np.int16, count=count, offset=start * 2)


def load_pcm(out_path: Path) -> PcmFile:
    """The decoded samples, read from disk as they are needed."""
    return PcmFile(out_path)


def to_float(samples):
    """int16 samples → float32 in [-1, 1), exactly as faster-whisper converts them
    (dividing by 32768 in place: one copy of the window, not two)."""
    import numpy as np

    audio = np.asarray(samples).astype(np.float32)
    audio /= 32768.0
    return audio


def make_playable(
    path: Path,
    out_dir: Path,
    *,
    silence: Iterable[tuple[float, float]] = (),
    start: float | None = None,
    end: float | None = None,
) -> tuple[Path, str]:
    """A copy the browser can play, with all metadata (names, places, GPS) left out:
    audio → AAC in .m4a; video → H.264 (at most 480 lines) + AAC in .mp4.

    `silence`: time ranges (seconds from the start of the recording, the transcript's
    timeline) whose sound is replaced by silence — redacted words. `start`/`end`: cut the
    copy to [start, end) (a clip); the ranges stay on the recording's timeline."""
    path, out_dir = Path(path), Path(out_dir)
    info = probe(path)
    per_second = 1.5 if info.has_video else 0.25
    args: list = ["playable", path, out_dir]
    ranges = [(float(a), float(b)) for a, b in silence if float(b) > float(a)]
    if ranges:
        args += ["--silence", ",".join(f"{a:.4f}:{b:.4f}" for a, b in ranges)]
    if start is not None:
        args += ["--start", f"{float(start):.4f}"]
    if end is not None:
        args += ["--end", f"{float(end):.4f}"]
    # A cut decodes up to its end, not the whole recording.
    length = min(info.duration or float(end or 0), float(end)) if end is not None else None
    answer = run_worker(
        args,
        timeout=_work_timeout(length or info.duration, per_second=per_second, base=120),
    )
    return Path(answer["path"]), answer["content_type"]


def make_poster(path: Path, out_path: Path) -> Path:
    """A still from about one second into a video, as a JPEG with no EXIF."""
    path, out_path = Path(path), Path(out_path)
    _check_file(path)
    answer = run_worker(["poster", path, out_path], timeout=60)
    return Path(answer["path"])
