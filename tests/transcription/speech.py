"""Helpers for the engine and pipeline tests: loaded engines, long recordings built from
the fixtures, and WER on normalised text. Test modules import the fixtures they use."""

import re
from pathlib import Path

import av
import jiwer
import pytest

from tests.conftest import AUDIO

LJ_CLIPS = sorted((AUDIO / "ljspeech").glob("LJ*.flac"))
JFK = AUDIO / "jfk.flac"


def reference(audio_path: Path) -> str:
    return audio_path.with_suffix(".txt").read_text().strip()


# --- Text normalisation: lower case, no punctuation, numbers spelled as the fixtures do ---
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _below_100(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def _number(n: int) -> str:
    if n < 100:
        return _below_100(n)
    if 1100 <= n <= 1999:  # years as people say them: fourteen fifty five
        high, low = divmod(n, 100)
        return f"{_below_100(high)} " + (_below_100(low) if low else "hundred")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {_below_100(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    return f"{_number(thousands)} thousand" + (f" {_number(rest)}" if rest else "")


def _ordinal(n: int) -> str:
    words = _number(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _ordinal(int(m.group(1))), text)
    text = re.sub(r"\d+", lambda m: f" {_number(int(m.group()))} ", text)
    text = re.sub(r"[^\w\s']", " ", text).replace("'", "")
    return " ".join(text.split())


def wer(reference_text: str, hypothesis: str) -> float:
    return jiwer.wer(normalise(reference_text), normalise(hypothesis))


def transcript_text(result) -> str:
    return " ".join(segment.text for segment in result.segments)


# --- Long recordings built from the fixtures (PyAV: decode, resample, encode FLAC) -------
def concatenate(paths, out: Path, *, gap_s: float = 1.0, repeat: int = 1) -> Path:
    """The recordings one after another, ``gap_s`` of silence between, 16 kHz mono FLAC."""
    rate = 16_000
    with av.open(str(out), "w", format="flac") as target:
        stream = target.add_stream("flac", rate=rate)
        stream.layout = "mono"
        stream.format = "s16"
        silence = av.AudioFrame(format="s16", layout="mono", samples=int(gap_s * rate))
        for plane in silence.planes:
            plane.update(bytes(plane.buffer_size))
        silence.sample_rate = rate
        for _ in range(repeat):
            for path in paths:
                resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
                with av.open(str(path)) as source:
                    for frame in source.decode(audio=0):
                        frame.pts = None
                        for chunk in resampler.resample(frame):
                            target.mux(stream.encode(chunk))
                for chunk in resampler.resample(None):
                    target.mux(stream.encode(chunk))
                silence.pts = None
                target.mux(stream.encode(silence))
        target.mux(stream.encode(None))
    return out


@pytest.fixture(scope="session")
def base_engine():
    from transcription.engines import get_engine

    return get_engine("base")


@pytest.fixture(scope="session")
def tiny_engine():
    from transcription.engines import get_engine

    return get_engine("tiny.en", beam_size=1)


@pytest.fixture(scope="session")
def lj_long(tmp_path_factory) -> Path:
    """All 16 LJ Speech clips in one recording (about 2 minutes), 0.8 s apart."""
    return concatenate(LJ_CLIPS, tmp_path_factory.mktemp("long") / "lj.flac", gap_s=0.8)


@pytest.fixture(scope="session")
def lj_reference() -> str:
    return " ".join(reference(clip) for clip in LJ_CLIPS)
