"""Transcription benchmark: the pipeline against faster-whisper called directly.

Prints ONE JSON object. See bench/README.md. Run from the project root:
    .venv/bin/python bench/transcribe.py [--model base] [--minutes 60] [--repeat 1]
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _setup():
    import django

    django.setup()


def _peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: kilobytes


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, *args):
    wall, cpu = time.perf_counter(), _cpu_s()
    answer = fn(*args)
    return time.perf_counter() - wall, _cpu_s() - cpu, answer


def _direct(engine, path: Path, tmp: Path):
    """faster-whisper on the same file, model and settings, without our pipeline.

    faster_whisper.decode_audio cannot open files with PyAV 19 (it passes an argument
    PyAV removed), so the file is decoded by the same steps it uses (PyAV, s16 mono
    16 kHz, / 32768), in this process, then given to WhisperModel.transcribe."""
    import numpy as np

    from transcription.decode_worker import decode

    pcm = tmp / "direct.s16"
    decode(str(path), str(pcm))
    audio = np.fromfile(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    segments, info = engine._model.transcribe(audio, **engine.transcribe_options(language=None))
    text = " ".join(s.text.strip() for s in segments)
    return text, len(audio) / 16_000


def _pipeline(engine, path: Path):
    from transcription.pipeline import transcribe_file

    result = transcribe_file(path, engine=engine)
    text = " ".join(s.text for s in result.segments)
    return text, result


def long_child(path: str, model: str) -> dict:
    """Runs in its own process: the worker's view of a long recording."""
    _setup()
    from transcription.engines import get_engine

    engine = get_engine(model)
    seconds, cpu, (_, result) = _timed(_pipeline, engine, Path(path))
    return {
        "audio_s": round(result.duration, 1),
        "pipeline_s": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "rtf": round(result.duration / seconds, 2),
        "rtf_per_cpu_second": round(result.duration / cpu, 2),
        "segments": len(result.segments),
        "worker_peak_rss_mb": round(_peak_rss_mb(), 1),
        "decoder_peak_rss_mb": round(_peak_rss_mb(resource.RUSAGE_CHILDREN), 1),
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="name or path (default: WHISPER_MODEL)")
    parser.add_argument("--minutes", type=float, default=60, help="long file; 0 to skip")
    parser.add_argument("--repeat", type=int, default=1, help="median of N timed runs")
    parser.add_argument("--long-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.long_child:
        return long_child(args.long_child, args.model)

    _setup()
    from django.conf import settings

    from tests.transcription.speech import JFK, LJ_CLIPS, concatenate, reference, wer
    from transcription.engines import get_engine

    model = args.model or settings.WHISPER_MODEL
    load_started = time.perf_counter()
    engine = get_engine(model)
    load_s = time.perf_counter() - load_started
    clips = [*LJ_CLIPS, JFK]
    ref = " ".join(reference(c) for c in clips)
    report = {
        "model_id": engine.model_id,
        "cpu_threads": engine.cpu_threads,
        "model_load_s": round(load_s, 2),
    }
    with tempfile.TemporaryDirectory(prefix="storyloom-bench-") as tmp:
        tmp = Path(tmp)
        # ~4 minutes of real speech: every fixture clip, twice, 0.8 s apart.
        speech = concatenate(clips, tmp / "speech.flac", gap_s=0.8, repeat=2)
        ref2 = f"{ref} {ref}"
        direct_runs, pipeline_runs = [], []
        for _ in range(args.repeat):
            direct_runs.append(_timed(_direct, engine, speech, tmp))
            pipeline_runs.append(_timed(_pipeline, engine, speech))
        direct_s = statistics.median(r[0] for r in direct_runs)
        pipeline_s = statistics.median(r[0] for r in pipeline_runs)
        direct_cpu = statistics.median(r[1] for r in direct_runs)
        pipeline_cpu = statistics.median(r[1] for r in pipeline_runs)
        audio_s = direct_runs[0][2][1]
        report["speech"] = {
            "audio_s": round(audio_s, 1),
            "repeat": args.repeat,
            "direct_s": round(direct_s, 2),
            "pipeline_s": round(pipeline_s, 2),
            "throughput_ratio": round(direct_s / pipeline_s, 3),  # target >= 0.95
            "rtf_direct": round(audio_s / direct_s, 2),
            "rtf_pipeline": round(audio_s / pipeline_s, 2),
            # Wall-clock RTF divided by the threads given to the engine...
            "rtf_per_core_pipeline": round(audio_s / pipeline_s / engine.cpu_threads, 2),
            # ...and audio seconds per CPU second (robust when other work shares the CPUs).
            "cpu_s_direct": round(direct_cpu, 1),
            "cpu_s_pipeline": round(pipeline_cpu, 1),
            "rtf_per_cpu_second_direct": round(audio_s / direct_cpu, 2),
            "rtf_per_cpu_second_pipeline": round(audio_s / pipeline_cpu, 2),
            "wer_direct": round(wer(ref2, direct_runs[0][2][0]), 4),
            "wer_pipeline": round(wer(ref2, pipeline_runs[0][2][0]), 4),
        }
        if args.minutes > 0:
            repeat = math.ceil(args.minutes * 60 / audio_s)
            long_file = concatenate(clips, tmp / "long.flac", gap_s=0.8, repeat=2 * repeat)
            done = subprocess.run(
                [sys.executable, __file__, "--long-child", str(long_file), "--model", model],
                capture_output=True,
                check=True,
                cwd=ROOT,
            )
            report["long"] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return report


if __name__ == "__main__":
    print(json.dumps(main()))
