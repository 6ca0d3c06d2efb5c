"""Recordings are probed, decoded and re-encoded in a limited child process: bad files and
crashes come back as plain messages, never as a crash of the worker."""

import signal
import sys

import av
import pytest
from PIL import Image

from tests.conftest import AUDIO
from transcription import media

pytestmark = pytest.mark.no_database

FORMATS = AUDIO / "formats"
JFK = AUDIO / "jfk.flac"
BRAND_KEYS = {"major_brand", "minor_version", "compatible_brands"}


@pytest.mark.parametrize(
    ("name", "video"),
    [
        ("jfk.m4a", 0),
        ("jfk.mp3", 0),
        ("jfk.ogg", 0),
        ("jfk.webm", 0),
        ("jfk_video.mp4", 1),
        ("jfk_video.webm", 1),
    ],
)
def test_every_format_is_probed_and_decoded_to_the_same_length(tmp_path, name, video):
    info = media.probe(FORMATS / name)
    samples = media.decode_to_file(FORMATS / name, tmp_path / "out.s16", duration=info.duration)

    assert info.audio_streams == 1 and info.video_streams == video
    assert samples == 176_000  # 11 s at 16 kHz, whatever the container and codec
    pcm = media.load_pcm(tmp_path / "out.s16")
    assert len(pcm) == samples
    assert len(pcm[1000:2000]) == 1000 and pcm[1000:2000].dtype.name == "int16"
    assert abs(pcm[16_000:32_000]).max() > 1000  # speech, not silence


def test_video_without_sound_is_refused_plainly():
    with pytest.raises(media.MediaError) as caught:
        media.probe(FORMATS / "noaudio_video.mp4")

    assert "no sound" in caught.value.message
    assert caught.value.needs_reupload


def test_a_pdf_named_mp3_is_refused(tmp_path):
    fake = tmp_path / "story.mp3"
    fake.write_bytes(b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 200)

    with pytest.raises(media.MediaError) as caught:
        media.probe(fake)

    assert "not a sound or video recording" in caught.value.message
    assert caught.value.needs_reupload


def test_a_file_cut_in_half_is_refused(tmp_path):
    flac, m4a = tmp_path / "cut.flac", tmp_path / "cut.m4a"
    flac.write_bytes(JFK.read_bytes()[: JFK.stat().st_size // 2])
    m4a.write_bytes((FORMATS / "jfk.m4a").read_bytes()[: (FORMATS / "jfk.m4a").stat().st_size // 2])

    with pytest.raises(media.MediaError) as flac_error:
        media.decode_to_file(flac, tmp_path / "a.s16", duration=media.probe(flac).duration)
    with pytest.raises(media.MediaError) as m4a_error:
        media.probe(m4a)

    assert "cut short" in flac_error.value.message
    assert "cut short" in m4a_error.value.message and flac_error.value.needs_reupload


def test_a_recording_over_the_length_limit_is_refused(settings):
    settings.TRANSCRIPTION_MAX_DURATION_S = 10

    with pytest.raises(media.MediaError, match="too long") as caught:
        media.probe(JFK)

    assert "(11 seconds). The limit is 10 seconds." in caught.value.message
    assert caught.value.needs_reupload


def test_a_decoder_that_crashes_gives_an_error_not_a_crash(monkeypatch, tmp_path):
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    monkeypatch.setattr(media, "WORKER", [sys.executable, "-c", crash])

    with pytest.raises(media.MediaError) as caught:
        media.decode_to_file(JFK, tmp_path / "out.s16", duration=11)

    assert caught.value.message == media.UNREADABLE
    assert caught.value.detail == f"signal {signal.SIGSEGV.value}"
    assert not caught.value.needs_reupload  # might be the server: worth another try


def test_a_decoder_over_its_memory_limit_gives_an_error(settings, tmp_path):
    settings.TRANSCRIPTION_DECODE_MEMORY_BYTES = 40 * 1024**2

    with pytest.raises(media.MediaError) as caught:
        media.decode_to_file(JFK, tmp_path / "out.s16", duration=11)

    assert caught.value.message == media.UNREADABLE


def _with_private_tags(source, out):
    """A copy of the recording carrying what a phone may write: place, title, device."""
    with av.open(str(source)) as src, av.open(str(out), "w", format="mp4") as dst:
        dst.metadata.update(
            {"title": "Dan's story", "location": "+51.5074-000.1278/", "artist": "Dan"}
        )
        streams = {}
        for stream in src.streams:
            streams[stream.index] = dst.add_stream_from_template(stream)
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)
    with av.open(str(out)) as check:
        assert "location" in check.metadata  # the test input really has them
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "content_type", "kinds"),
    [
        ("jfk.m4a", "audio/mp4", {"audio"}),
        ("jfk_video.mp4", "video/mp4", {"audio", "video"}),
        ("jfk_video.webm", "video/mp4", {"audio", "video"}),
    ],
)
def test_playable_copy_plays_and_carries_no_metadata(tmp_path, source, content_type, kinds):
    original = FORMATS / source
    if source.endswith(".mp4") or source.endswith(".m4a"):
        original = _with_private_tags(original, tmp_path / f"tagged{original.suffix}")
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    length = media.probe(original).duration

    path, kind = media.make_playable(original, out_dir)

    assert kind == content_type
    with av.open(str(path)) as copy:
        assert {s.type for s in copy.streams} == kinds
        assert set(copy.metadata) <= BRAND_KEYS  # no title, place, device or encoder
        for stream in copy.streams:
            assert set(stream.metadata) <= {"language", "handler_name", "vendor_id"}
        assert copy.duration / 1_000_000 == pytest.approx(length, abs=0.2)
        audio = copy.streams.audio[0]
        assert audio.codec_context.name == "aac"
        if "video" in kinds:
            assert copy.streams.video[0].codec_context.name == "h264"
        decoded = sum(frame.samples for frame in copy.decode(audio=0))
        assert decoded / audio.codec_context.sample_rate == pytest.approx(11, abs=0.2)
    # What the transcription reads from the copy is still the speech.
    assert media.decode_to_file(path, tmp_path / "again.s16") == pytest.approx(176_000, abs=800)


def test_poster_is_a_real_image_without_exif(tmp_path):
    poster = media.make_poster(FORMATS / "jfk_video.mp4", tmp_path / "poster.jpg")

    with Image.open(poster) as image:
        assert image.format == "JPEG"
        assert image.size == (320, 240)
        assert not image.getexif()
        assert image.convert("L").getextrema() != (0, 0)  # not a blank frame


def test_poster_of_a_recording_without_video_is_refused(tmp_path):
    with pytest.raises(media.MediaError):
        media.make_poster(JFK, tmp_path / "poster.jpg")


def test_a_decode_process_dies_with_the_worker_that_started_it(tmp_path):
    """A worker killed with SIGKILL mid-render must not leave its decode process cutting
    sound for nobody: the limits it starts with include "die with your parent"."""
    import os
    import subprocess
    import time

    parent_code = (
        "import subprocess, sys, time\n"
        "from transcription import media\n"
        "child = subprocess.Popen(['sleep', '120'], preexec_fn=media._limits(1 << 30, 300))\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cms.settings_test"}
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True, env=env
    )
    child = int(parent.stdout.readline())
    try:
        assert _running(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child)
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
