"""A recording file in, a flagged, time-coded transcript out: accurate on real speech in
every format, the same text whether decoded whole or in windows, silence left empty."""

import numpy as np
import pytest

from tests.conftest import AUDIO
from tests.transcription import speech
from tests.transcription.speech import JFK, reference, transcript_text, wer
from transcription import pipeline
from transcription.media import MediaError
from transcription.results import SegmentResult, WordResult

pytestmark = pytest.mark.no_database

FORMATS = AUDIO / "formats"
base_engine = speech.base_engine  # fixtures
tiny_engine = speech.tiny_engine
lj_long = speech.lj_long
lj_reference = speech.lj_reference


def _assert_times_make_sense(result):
    previous_end = 0.0
    for segment in result.segments:
        assert previous_end <= segment.start <= segment.end <= result.duration + 0.01
        starts = [w.start for w in segment.words]
        assert starts == sorted(starts)
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end
        previous_end = segment.end


# --- Real engine ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lj_whole(base_engine, lj_long):
    return pipeline.transcribe_file(lj_long, engine=base_engine)


@pytest.mark.slow
def test_lj_speech_clips_are_transcribed_accurately(lj_whole, lj_reference):
    assert lj_whole.language == "en"
    assert lj_whole.duration == pytest.approx(119.3, abs=0.5)
    assert wer(lj_reference, transcript_text(lj_whole)) <= 0.10
    _assert_times_make_sense(lj_whole)
    # Clean read speech: the flags stay quiet (at most one short doubtful passage).
    flagged = [s for s in lj_whole.segments if s.flags]
    assert len(flagged) <= 1, [(s.text, s.flags) for s in flagged]


@pytest.mark.slow
def test_windows_give_the_same_words_as_the_whole_file(base_engine, lj_long, lj_whole):
    progress = []

    windowed = pipeline.transcribe_file(
        lj_long, engine=base_engine, window_s=45, on_progress=progress.append
    )

    assert wer(transcript_text(lj_whole), transcript_text(windowed)) <= 0.02
    _assert_times_make_sense(windowed)
    assert windowed.segments[-1].end > 100  # times carry on across the windows
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert progress == sorted(progress)
    assert len([p for p in progress if 0.2 < p < 0.9]) >= 2  # it moves during the work


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["jfk.m4a", "jfk.mp3", "jfk.ogg", "jfk.webm", "jfk_video.mp4", "jfk_video.webm"]
)
def test_every_format_gives_the_jfk_text(tiny_engine, name):
    result = pipeline.transcribe_file(FORMATS / name, engine=tiny_engine)

    assert wer(reference(JFK), transcript_text(result)) <= 0.05
    _assert_times_make_sense(result)


@pytest.mark.slow
def test_jfk_with_the_default_model(base_engine):
    result = pipeline.transcribe_file(JFK, engine=base_engine, vocabulary=["Kennedy"])

    assert result.language == "en"
    assert wer(reference(JFK), transcript_text(result)) <= 0.05
    _assert_times_make_sense(result)


@pytest.mark.slow
def test_silence_gives_no_confident_text(base_engine):
    result = pipeline.transcribe_file(FORMATS / "silence_20s.flac", engine=base_engine)

    assert result.duration == pytest.approx(20.0)
    assert all(segment.flags for segment in result.segments)


def test_video_without_sound_is_refused_before_any_transcription():
    class NoEngine:
        model_id = "none"

        def transcribe(self, *args, **kwargs):
            raise AssertionError("the engine must not be called")

    with pytest.raises(MediaError, match="no sound"):
        pipeline.transcribe_file(FORMATS / "noaudio_video.mp4", engine=NoEngine())


def test_bad_files_give_a_plain_message(tmp_path):
    pdf = tmp_path / "story.mp3"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 4000)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(JFK.read_bytes()[:30_000])

    messages = {}
    for path in (pdf, cut):
        with pytest.raises(MediaError) as caught:
            pipeline.transcribe_file(path, engine=None)
        assert caught.value.needs_reupload
        messages[path.name] = caught.value.message

    assert messages == {
        "story.mp3": "This file is not a sound or video recording we can use. "
        "Please choose an audio or video file.",
        "cut.flac": "This recording seems to be cut short or damaged. "
        "Please upload the whole recording again.",
    }


# --- Windows cut at silence ---------------------------------------------------------------
def test_windows_are_cut_at_the_quietest_point():
    rate = pipeline.SAMPLE_RATE
    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(100 * rate) * 3000).astype(np.int16)
    audio[int(37.0 * rate) : int(37.5 * rate)] = 0  # a pause inside the last 30 s of 45
    audio[int(80.0 * rate) : int(80.4 * rate)] //= 50

    windows = pipeline.split_windows(audio, window_s=45)

    assert windows[0][0] == 0 and windows[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert 37.0 * rate <= windows[0][1] <= 37.5 * rate
    assert 80.0 * rate <= windows[1][1] <= 80.4 * rate
    assert pipeline.split_windows(audio[: 40 * rate], window_s=45) == [(0, 40 * rate)]


# --- Flags --------------------------------------------------------------------------------
def _segment(text, *, logprob=-0.3, no_speech=0.01, ratio=1.2, probability=0.9):
    words = tuple(
        WordResult(text=w, start=i * 0.5, end=i * 0.5 + 0.4, probability=probability)
        for i, w in enumerate(text.split())
    )
    return SegmentResult(
        start=0.0,
        end=len(words) * 0.5,
        text=text,
        words=words,
        avg_logprob=logprob,
        no_speech_prob=no_speech,
        compression_ratio=ratio,
    )


def test_flags_mark_doubtful_passages_and_leave_clean_speech_alone():
    clean = _segment("Ask not what your country can do for you, ask what you can do.")
    cases = {
        "clean": (clean, ()),
        "no, no, no": (_segment("No, no, no, I never said that."), ()),
        "low logprob": (_segment("Something mumbled here.", logprob=-1.3), ("low_confidence",)),
        "unsure words": (_segment("Something mumbled.", probability=0.3), ("low_confidence",)),
        "loop": (
            _segment("I went to the shop. I went to the shop. I went to the shop."),
            ("possible_hallucination",),
        ),
        "compressed": (_segment("la la la la la la", ratio=3.1), ("possible_hallucination",)),
        "no speech": (
            _segment("Thank you.", no_speech=0.8, logprob=-0.7),
            ("possible_hallucination",),
        ),
        "both": (
            _segment("you you you you you", no_speech=0.9, logprob=-1.2, probability=0.2),
            ("low_confidence", "possible_hallucination"),
        ),
    }

    for name, (segment, expected) in cases.items():
        assert pipeline.flag_segments([segment])[0].flags == expected, name


def test_the_same_sentence_three_times_running_is_flagged():
    same = [_segment("Thanks for watching.") for _ in range(3)]

    flags = [s.flags for s in pipeline.flag_segments(same)]

    assert flags == [(), (), ("possible_hallucination",)]
    assert set(pipeline.FLAGS) == set(pipeline.FLAG_LABELS)


# --- Written stories ----------------------------------------------------------------------
def test_written_stories_are_split_into_paragraphs_and_sentences():
    long_paragraph = " ".join(f"This is sentence number {i} of a long part." for i in range(40))
    text = f"First part,\nwrapped over lines.\n\n\n  \n{long_paragraph}\r\n\r\nLast one!"

    parts = pipeline.segment_text(text, max_chars=300)

    assert parts[0] == "First part, wrapped over lines."
    assert parts[-1] == "Last one!"
    middle = parts[1:-1]
    assert len(middle) > 1 and all(len(p) <= 300 for p in middle)
    assert all(p.endswith("long part.") for p in middle)
    assert " ".join(middle) == long_paragraph
    assert pipeline.segment_text("  \n\n ") == []
