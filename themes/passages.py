"""Turn transcript segments into passages of a few sentences, the unit that is clustered.

Whisper segments are often a few words long ("Yeah.", "And then the housing officer
said"), too short to say what a theme is; a whole story is too long to belong to just one.
So consecutive segments of one story are merged until a passage has about ``min_words``
words (never more than ``max_words`` unless one sentence is longer), and a very long
segment is split at sentence boundaries. Every passage remembers its story and the
segments it came from, so themes can be shown on segments and quotes.

Plain values in, plain values out (no Django models). Deterministic: the result depends
only on the segments, not on the order they are given in.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")


@dataclass(frozen=True)
class SegmentText:
    segment_id: Hashable
    story_id: Hashable
    index: int  # position of the segment in its story
    text: str


@dataclass(frozen=True)
class Passage:
    story_id: Hashable
    segment_ids: tuple  # in story order, each once
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


def _sentences(text: str, max_words: int) -> list[str]:
    """Split at sentence ends; a sentence longer than ``max_words`` is cut into pieces."""
    out = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        for start in range(0, len(words), max_words):
            out.append(" ".join(words[start : start + max_words]))
    return [s for s in out if s]


def make_passages(
    segments: Iterable[SegmentText | tuple], *, min_words: int = 40, max_words: int = 80
) -> list[Passage]:
    """Passages of ``min_words``..``max_words`` words from ``segments``.

    ``segments`` are SegmentText or (segment_id, story_id, index, text) tuples. Segments
    are never mixed across stories. Empty segments are left out. Passages come sorted by
    story, then by position in the story.
    """
    if min_words < 1 or max_words < min_words:
        raise ValueError("Need 1 <= min_words <= max_words.")
    items = [s if isinstance(s, SegmentText) else SegmentText(*s) for s in segments]
    items.sort(key=lambda s: (s.story_id, s.index, s.segment_id))

    passages: list[Passage] = []
    story_start = 0
    current_story = object()
    buffer: list[tuple[Hashable, str]] = []  # (segment id, piece)

    def buffer_words() -> int:
        return sum(len(piece.split()) for _, piece in buffer)

    def flush() -> None:
        if buffer:
            ids = tuple(dict.fromkeys(seg for seg, _ in buffer))
            text = " ".join(piece for _, piece in buffer)
            passages.append(Passage(story_id=current_story, segment_ids=ids, text=text))
            buffer.clear()

    def end_story() -> None:
        # A short tail joins the story's previous passage when that stays reasonable.
        if (
            buffer
            and len(passages) > story_start
            and buffer_words() < min_words // 2
            and passages[-1].words + buffer_words() <= max_words + min_words // 2
        ):
            last = passages.pop()
            buffer[:0] = [(seg, None) for seg in last.segment_ids]
            ids = tuple(dict.fromkeys(seg for seg, _ in buffer))
            text = " ".join([last.text] + [p for _, p in buffer if p is not None])
            passages.append(Passage(story_id=current_story, segment_ids=ids, text=text))
            buffer.clear()
        flush()

    for segment in items:
        if segment.story_id != current_story:
            end_story()
            current_story = segment.story_id
            story_start = len(passages)
        text = " ".join((segment.text or "").split())
        if not text:
            continue
        pieces = [text] if len(text.split()) <= max_words else _sentences(text, max_words)
        for piece in pieces:
            size = len(piece.split())
            if buffer and buffer_words() + size > max_words:
                flush()
            buffer.append((segment.segment_id, piece))
            if buffer_words() >= min_words:
                flush()
    end_story()
    return passages
