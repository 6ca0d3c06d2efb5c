"""Captions and transcript downloads: WebVTT, SRT and plain text, always from the redacted
text (`transcription.redaction.redacted_text`), so a redacted word never reaches a caption
file, a clip's captions or a download."""

from collections.abc import Iterable
from dataclasses import dataclass

from transcription.models import Segment, Speaker
from transcription.redaction import redacted_text

SPEAKER_LABELS = dict(Speaker.choices)


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str
    speaker: str = ""  # a label people read ("Storyteller"), or ""


def _one_line(text: str) -> str:
    # A blank line would end the cue early, and "-->" would start a new one.
    return " ".join(text.split()).replace("-->", "→")


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, int(round(seconds * 1000)))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(cues: Iterable[Cue]) -> str:
    """A WebVTT file. Speakers, where known, as voice spans (`<v Storyteller>`)."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        text = _vtt_escape(_one_line(cue.text))
        if cue.speaker:
            text = f"<v {_vtt_escape(_one_line(cue.speaker))}>{text}"
        blocks.append(f"{number}\n{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n{text}")
    return "\n\n".join(blocks) + "\n"


def srt(cues: Iterable[Cue]) -> str:
    """A SubRip file (speakers, where known, as "Storyteller: …")."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        text = _one_line(cue.text)
        if cue.speaker:
            text = f"{_one_line(cue.speaker)}: {text}"
        blocks.append(f"{number}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{text}")
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _speaker(segment: Segment) -> str:
    return SPEAKER_LABELS.get(segment.speaker, "")


def story_cues(segments: Iterable[Segment]) -> list[Cue]:
    """One cue per timed segment, redacted. Written stories have no times, so no cues."""
    cues = []
    for segment in segments:
        if segment.start is None or segment.end is None or segment.end <= segment.start:
            continue
        text = redacted_text(segment).strip()
        if text:
            cues.append(Cue(segment.start, segment.end, text, _speaker(segment)))
    return cues


def clip_cues(segments: Iterable[Segment], *, start: float, end: float) -> list[Cue]:
    """The cues of the segments inside [start, end), with times from the clip's start."""
    length = end - start
    cues = []
    for cue in story_cues(segments):
        cue_start, cue_end = max(cue.start, start) - start, min(cue.end, end) - start
        if cue_end > cue_start and cue_start < length:
            cues.append(Cue(round(cue_start, 3), round(cue_end, 3), cue.text, cue.speaker))
    return cues


def plain_text(segments: Iterable[Segment], *, title: str = "") -> str:
    """The transcript as plain text, redacted: a paragraph per segment, with the time and
    the speaker where known."""
    lines = [title, ""] if title else []
    for segment in segments:
        text = _one_line(redacted_text(segment))
        if not text:
            continue
        prefix = []
        if segment.start is not None:
            prefix.append(f"[{_clock(segment.start, '.')[:8]}]")
        if _speaker(segment):
            prefix.append(f"{_speaker(segment)}:")
        lines.append(" ".join([*prefix, text]))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def clip_text(segments: Iterable[Segment]) -> str:
    """A clip's words, redacted, as one paragraph."""
    return " ".join(t for t in (_one_line(redacted_text(s)) for s in segments) if t)
