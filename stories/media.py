"""What a file really is, found from its content, never from its name."""

import hashlib
import json
import re
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


# More tracks than any phone or recorder makes: refused before anyone decodes them.
MAX_STREAMS = 16
MAX_AUDIO_STREAMS = 8


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
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dumps of someone's story


def _run_probe(*args: str) -> dict:
    """Run stories.probe_worker with limits; its JSON answer, or {"error": ...}. Whatever
    the child prints on stderr (FFmpeg's own messages) is dropped, never shown."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "stories.probe_worker", *args],
            capture_output=True,
            timeout=settings.STORYLOOM_PROBE_TIMEOUT_S + 5,
            preexec_fn=_limit_child,
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR)},
        )
        return json.loads(completed.stdout.decode() or "{}") or {"error": "no answer"}
    except (subprocess.TimeoutExpired, json.JSONDecodeError, UnicodeDecodeError):
        return {"error": "unreadable"}


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
    info = _run_probe(str(path))
    if "error" in info or not info:
        raise ValidationError(
            "We could not read this recording. It may be damaged or cut short. "
            "Please record or upload it again."
        )
    if info.get("streams", 0) > MAX_STREAMS or info["audio_streams"] > MAX_AUDIO_STREAMS:
        raise ValidationError(
            "This file has too many tracks in it. "
            "Please save or export it again as a single recording."
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
    if _MARKUP_DOCUMENT.match(text):
        raise ValidationError(
            "This file is a web page or a drawing, not plain text. "
            "Please save the story as a .txt file and choose it again."
        )
    return text.strip()


# A web page, an SVG drawing or another XML document, however it was named: a story is words.
_MARKUP_DOCUMENT = re.compile(
    r"\A[\s\ufeff]*(?:<\?xml|<!doctype|<!--|<(?:html|svg|head|body|script|iframe)\b)",
    re.IGNORECASE,
)

# --- Photos of signed consent forms -----------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
IMAGE_MAX_BYTES = 50 * 1024 * 1024
# A phone photo is 12-50 megapixels. Anything claiming more is refused from its header,
# before a single pixel is decoded (a "decompression bomb" claims billions).
IMAGE_MAX_PIXELS = 100_000_000


def looks_like_image(path: Path) -> bool:
    head = Path(path).open("rb").read(8)
    return head.startswith(PNG_MAGIC) or head.startswith(JPEG_MAGIC)


def check_image(path: Path) -> str:
    """A photo (JPEG or PNG) we can keep and show: one picture of a sensible size, decoded
    in the limited child process, with nothing hidden in it that a browser could run as a
    page (a "polyglot": HTML in a comment, or after the end of the picture). Returns the
    content type; raises ValidationError with a plain message."""
    path = Path(path)
    if path.stat().st_size > IMAGE_MAX_BYTES:
        raise ValidationError("This photo is too big. Please take or choose a smaller one.")
    info = _run_probe("--image", str(path), str(IMAGE_MAX_PIXELS))
    problem = info.get("error")
    if problem == "too_many_pixels":
        raise ValidationError(
            "This picture is far too large. Please take a new photo of the form with a phone."
        )
    if problem == "animated":
        raise ValidationError("This is a moving picture. Please choose a photo of the form.")
    if problem == "hidden":
        raise ValidationError(
            "This picture has something other than a photo hidden in it, so it cannot be "
            "kept. Please take a new photo of the form."
        )
    if problem or info.get("format") not in ("PNG", "JPEG"):
        raise ValidationError(
            "We could not open this picture. It may be damaged. Please take the photo again."
        )
    return "image/png" if info["format"] == "PNG" else "image/jpeg"


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
