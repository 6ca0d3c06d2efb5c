"""What a file really is, found from its content, never from its name."""

import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

# Leading bytes of the containers we accept, checked before any decoder sees the file.
_SIGNATURES = [
    (4, b"ftyp", "video/mp4"),  # MP4, M4A, MOV, 3GP
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),  # Matroska / WebM
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"RIFF", "audio/wav"),  # checked for WAVE below
    (0, b"caff", "audio/x-caf"),
    (0, b"#!AMR", "audio/amr"),
]

CONTENT_TYPES = {
    "mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", "audio/mp4", "mp4", "m4a"),
    "matroska,webm": ("video/webm", "audio/webm", "webm", "webm"),
    "ogg": ("video/ogg", "audio/ogg", "ogv", "ogg"),
    "mp3": ("audio/mpeg", "audio/mpeg", "mp3", "mp3"),
    "wav": ("audio/wav", "audio/wav", "wav", "wav"),
    "flac": ("audio/flac", "audio/flac", "flac", "flac"),
    "aac": ("audio/aac", "audio/aac", "aac", "aac"),
    "caf": ("audio/x-caf", "audio/x-caf", "caf", "caf"),
    "amr": ("audio/amr", "audio/amr", "amr", "amr"),
}


@dataclass(frozen=True)
class MediaInfo:
    container: str
    content_type: str
    extension: str
    duration_seconds: float | None
    has_video: bool


def _sniff(path: Path) -> bool:
    head = path.open("rb").read(16)
    if head[:4] == b"RIFF":
        return head[8:12] == b"WAVE"
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9"):
        return True  # MPEG audio frame or ADTS AAC without a tag
    return any(head[offset : offset + len(magic)] == magic for offset, magic, _ in _SIGNATURES)


def _limit_child():
    memory = settings.STORYLOOM_PROBE_MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = settings.STORYLOOM_PROBE_TIMEOUT_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def probe_media(path: Path) -> MediaInfo:
    """Check that a file is an audio or video recording we can play and transcribe.

    Decoding runs in a separate process with memory and time limits, allowed only local
    file input, so a hostile or broken file cannot take the web server down with it.
    Raises ValidationError with a plain message the reporter can act on.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise ValidationError("The file is empty. Please record or choose the file again.")
    if not _sniff(path):
        raise ValidationError(
            "This file is not a sound or video recording we can use. "
            "Please choose an audio or video file."
        )
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "stories.probe_worker", str(path)],
            capture_output=True,
            timeout=settings.STORYLOOM_PROBE_TIMEOUT_S + 5,
            preexec_fn=_limit_child,
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR)},
        )
        info = json.loads(completed.stdout.decode() or "{}")
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        info = {"error": "unreadable"}
    if "error" in info or not info:
        raise ValidationError(
            "We could not read this recording. It may be damaged or cut short. "
            "Please record or upload it again."
        )
    if not info["audio_streams"]:
        raise ValidationError(
            "This recording has no sound. Please check the microphone and record it again."
        )
    if not info["decoded_samples"]:
        raise ValidationError(
            "We could not play any sound from this recording. Please record it again."
        )
    has_video = info["video_streams"] > 0
    video_type, audio_type, video_ext, audio_ext = CONTENT_TYPES.get(
        info["format"], ("application/octet-stream",) * 2 + ("bin",) * 2
    )
    return MediaInfo(
        container=info["format"],
        content_type=video_type if has_video else audio_type,
        extension=video_ext if has_video else audio_ext,
        duration_seconds=info["duration"],
        has_video=has_video,
    )


def check_text(path: Path, *, max_bytes: int = 2 * 1024 * 1024) -> str:
    """A written story: plain UTF-8 text, not empty, not huge."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ValidationError("The file is empty. Please choose the file again.")
    if size > max_bytes:
        raise ValidationError("This text file is too long. The limit is 2 MB.")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise ValidationError("This is not a plain text file. Please save it as .txt.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("This is not a plain text file. Please save it as .txt.") from None
    if not text.strip():
        raise ValidationError("The file has no words in it. Please choose the file again.")
    return text.strip()


def temporary_copy(upload) -> Path:
    """Copy an upload that is not already on disk to a temporary file; the caller removes it."""
    handle = tempfile.NamedTemporaryFile(prefix="storyloom-", delete=False)
    upload.seek(0)
    with handle:
        shutil.copyfileobj(upload, handle, 1024 * 1024)
    upload.seek(0)
    return Path(handle.name)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
