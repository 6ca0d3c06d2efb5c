"""Run as ``python -m transcription.decode_worker MODE ...`` in a separate, limited process
(see transcription.media). Prints one JSON object. FFmpeg may only open local files in the
containers a phone, recorder or camera produces, so a hostile file cannot make it follow a
playlist or a network address.

Modes:
  probe PATH             streams and duration
  decode PATH OUT        16 kHz mono signed 16-bit PCM, raw, written to OUT
  playable PATH OUT_DIR [--silence A:B,C:D] [--start S] [--end E]
                         a web-playable copy with no metadata (AAC .m4a / H.264+AAC .mp4),
                         the sound silenced over the given ranges (seconds), optionally
                         cut to [S, E)
  poster PATH OUT        a frame about 1 s in, as JPEG, no EXIF

No Django and no numpy here: it stays small and starts fast.
"""

import json
import sys
from array import array
from fractions import Fraction
from pathlib import Path

ALLOWED_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,mp3,wav,flac,aac,caf,amr,w64"
OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ALLOWED_FORMATS}
SAMPLE_RATE = 16_000
MAX_VIDEO_HEIGHT = 480
PLAYABLE_RATE = 48_000
# Around a silenced range the sound fades out and back in over this long (outside the range,
# so every sample inside it is silent), rather than clicking.
FADE_SECONDS = 0.01


def _open(path):
    import av

    return av.open(str(path), options=OPEN_OPTIONS)


def _video_streams(container):
    import av

    return [
        s
        for s in container.streams.video
        if not (s.disposition & av.stream.Disposition.attached_pic)
    ]


def probe(path: str) -> dict:
    with _open(path) as container:
        audio = list(container.streams.audio)
        video = _video_streams(container)
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None and audio and audio[0].duration and audio[0].time_base:
            duration = float(audio[0].duration * audio[0].time_base)
        first = audio[0].codec_context if audio else None
        return {
            "format": container.format.name,
            "duration": duration,
            "streams": len(container.streams),
            "audio_streams": len(audio),
            "video_streams": len(video),
            "sample_rate": first.sample_rate if first else None,
            "channels": first.channels if first else None,
            "width": video[0].codec_context.width if video else None,
            "height": video[0].codec_context.height if video else None,
        }


def _audio_frames(container):
    """The first audio stream's frames, skipping undecodable ones, in large groups, as
    faster_whisper.audio.decode_audio does (so the samples come out identical)."""
    import av

    fifo = av.audio.fifo.AudioFifo()
    iterator = iter(container.decode(audio=0))
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            continue
        frame.pts = None
        fifo.write(frame)
        if fifo.samples >= 500_000:
            yield fifo.read()
    if fifo.samples > 0:
        yield fifo.read()


def decode(path: str, out: str) -> dict:
    import av

    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    samples = 0
    with _open(path) as container:
        if not container.streams.audio:
            return {"error": "no_audio"}
        stream = container.streams.audio[0]
        expected = container.duration / 1_000_000 if container.duration else None
        if stream.duration and stream.time_base:  # the sound may end before the video
            expected = float(stream.duration * stream.time_base)
        with open(out, "wb") as handle:
            for group in _audio_frames(container):
                for frame in resampler.resample(group):
                    handle.write(bytes(frame.planes[0])[: frame.samples * 2])
                    samples += frame.samples
            for frame in resampler.resample(None):
                handle.write(bytes(frame.planes[0])[: frame.samples * 2])
                samples += frame.samples
    return {"samples": samples, "expected_duration": expected}


def _first_rotation(path: str) -> int:
    """Clockwise degrees (0, 90, 180, 270) to turn the video upright: phones record
    sideways and store a display matrix, which a stripped copy would lose."""
    with _open(path) as container:
        videos = _video_streams(container)
        if not videos:
            return 0
        for frame in container.decode(videos[0]):
            # frame.rotation: counter-clockwise degrees of the display matrix
            return round(-(frame.rotation or 0) / 90) * 90 % 360
    return 0


def _pull_all(graph):
    import av

    frames = []
    while True:
        try:
            frames.append(graph.vpull())
        except (av.error.BlockingIOError, av.error.EOFError):
            return frames


class _Shaper:
    """Silences sample ranges and cuts the sound to [start, end), on the resampled audio
    (planar float at PLAYABLE_RATE), counting samples from the start of the stream: the
    same timeline as the decoded samples the transcript's word times come from."""

    def __init__(self, silence, start, end, rate=PLAYABLE_RATE):
        self.rate = rate
        self.fade = max(1, int(FADE_SECONDS * rate))
        self.silence = sorted((int(a * rate), int(b * rate)) for a, b in silence if b > a)
        self.keep = (int((start or 0) * rate), int(end * rate) if end is not None else None)
        self.position = 0  # samples seen so far (before cutting)

    @property
    def finished(self) -> bool:
        return self.keep[1] is not None and self.position >= self.keep[1]

    def _gain_regions(self, lo: int, hi: int):
        """Every silenced range (a, b) that, with its fades, reaches into samples [lo, hi)."""
        for a, b in self.silence:
            if a - self.fade < hi and b + self.fade > lo:
                yield a, b

    def shape(self, frame):
        import av

        n = frame.samples
        pos = self.position
        self.position += n
        keep_lo = max(pos, self.keep[0])
        keep_hi = pos + n if self.keep[1] is None else min(pos + n, self.keep[1])
        if keep_hi <= keep_lo:
            return None
        regions = list(self._gain_regions(keep_lo, keep_hi))
        if keep_lo == pos and keep_hi == pos + n and not regions:
            return frame
        count = keep_hi - keep_lo
        out = av.AudioFrame(format="fltp", layout=frame.layout.name, samples=count)
        out.sample_rate = self.rate
        offset = keep_lo - pos
        for source, target in zip(frame.planes, out.planes, strict=True):
            samples = array("f")
            samples.frombytes(bytes(source)[offset * 4 : (offset + count) * 4])
            for a, b in regions:
                self._silence(samples, keep_lo, a, b)
            data = samples.tobytes()
            target.update(data + bytes(target.buffer_size - len(data)))
        return out

    def _silence(self, samples: array, base: int, a: int, b: int) -> None:
        count = len(samples)
        lo, hi = max(a, base) - base, min(b, base + count) - base
        if hi > lo:
            samples[lo:hi] = array("f", bytes(4 * (hi - lo)))
        for i in range(max(a - self.fade, base), min(a, base + count)):
            samples[i - base] *= (a - i) / self.fade
        for i in range(max(b, base), min(b + self.fade, base + count)):
            samples[i - base] *= (i - b + 1) / self.fade


def playable(
    path: str,
    out_dir: str,
    silence: list[tuple[float, float]] = (),
    start: float | None = None,
    end: float | None = None,
) -> dict:
    import av

    shaper = _Shaper(silence, start, end)
    with _open(path) as source:
        audio_in = source.streams.audio[0] if source.streams.audio else None
        videos = _video_streams(source)
        video_in = videos[0] if videos else None
        if audio_in is None:
            return {"error": "no_audio"}
        suffix, content_type = (".mp4", "video/mp4") if video_in else (".m4a", "audio/mp4")
        out_path = Path(out_dir) / f"playable{suffix}"
        video_origin = None
        # bitexact: no "encoder" tags; faststart: the browser can play before the end loads.
        with av.open(
            str(out_path),
            "w",
            format="mp4" if video_in else "ipod",
            container_options={"movflags": "+faststart", "fflags": "+bitexact"},
        ) as target:
            channels = min(audio_in.codec_context.channels or 1, 2)
            audio_out = target.add_stream("aac", rate=PLAYABLE_RATE)
            audio_out.layout = "stereo" if channels == 2 else "mono"
            audio_out.bit_rate = 96_000 if channels == 2 else 64_000
            audio_out.codec_context.flags |= av.codec.context.Flags.bitexact
            resampler = av.audio.resampler.AudioResampler(
                format="fltp", layout=audio_out.layout.name, rate=PLAYABLE_RATE
            )

            def encode_audio(chunk):
                shaped = shaper.shape(chunk)
                if shaped is not None:
                    target.mux(audio_out.encode(shaped))

            graph = video_out = None
            video_done = video_in is None
            if video_in is not None:
                video_out, graph = _video_output(target, video_in, _first_rotation(path))
                video_out.codec_context.flags |= av.codec.context.Flags.bitexact
            streams = [s for s in (audio_in, video_in) if s is not None]
            for packet in source.demux(streams):
                if shaper.finished and video_done:
                    break  # cut: nothing after the end is needed
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue
                for frame in frames:
                    if packet.stream is audio_in:
                        if shaper.finished:
                            continue
                        frame.pts = None
                        for chunk in resampler.resample(frame):
                            encode_audio(chunk)
                    else:
                        # Video frames by their time from the stream's first frame, so that
                        # a cut keeps the pictures that go with the sound.
                        if frame.time is not None:
                            if video_origin is None:
                                video_origin = frame.time
                            at = frame.time - video_origin
                            if end is not None and at >= end:
                                video_done = True
                                continue
                            if start is not None and at < start:
                                continue
                        graph.vpush(frame)
                        for out in _pull_all(graph):
                            out.pts = None
                            target.mux(video_out.encode(out))
            if not shaper.finished:
                for chunk in resampler.resample(None):
                    encode_audio(chunk)
            target.mux(audio_out.encode(None))
            if video_out is not None:
                graph.vpush(None)
                for out in _pull_all(graph):
                    out.pts = None
                    target.mux(video_out.encode(out))
                target.mux(video_out.encode(None))
    return {"path": str(out_path), "content_type": content_type}


def _video_output(target, video_in, rotation: int):
    import av

    rate = video_in.average_rate or video_in.guessed_rate or Fraction(25)
    if rate > 60:
        rate = Fraction(30)
    width = video_in.codec_context.width or 640
    height = video_in.codec_context.height or 360
    if rotation in (90, 270):
        width, height = height, width
    # Even dimensions, at most MAX_VIDEO_HEIGHT lines, yuv420p: what every browser plays.
    scale = min(1.0, MAX_VIDEO_HEIGHT / height)
    out_w = max(2, int(round(width * scale / 2)) * 2)
    out_h = max(2, int(round(height * scale / 2)) * 2)
    graph = av.filter.Graph()
    chain = [graph.add_buffer(template=video_in), graph.add("fps", f"fps={rate}")]
    if rotation == 90:
        chain.append(graph.add("transpose", "clock"))
    elif rotation == 270:
        chain.append(graph.add("transpose", "cclock"))
    elif rotation == 180:
        chain += [graph.add("hflip"), graph.add("vflip")]
    chain.append(graph.add("scale", f"w={out_w}:h={out_h}"))
    chain.append(graph.add("format", "pix_fmts=yuv420p"))
    chain.append(graph.add("buffersink"))
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()
    video_out = target.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "26"})
    video_out.width = out_w
    video_out.height = out_h
    video_out.pix_fmt = "yuv420p"
    video_out.codec_context.thread_count = 2
    return video_out, graph


def poster(path: str, out: str) -> dict:
    with _open(path) as container:
        videos = _video_streams(container)
        if not videos:
            return {"error": "no_video"}
        stream = videos[0]
        duration = container.duration / 1_000_000 if container.duration else None
        at = min(1.0, duration / 2) if duration else 0.0
        image = None
        if at > 0:
            try:
                container.seek(int(at * 1_000_000), any_frame=False, backward=True)
            except Exception:
                container.seek(0)
        for frame in container.decode(stream):
            image = frame.to_image()
            if frame.rotation:  # counter-clockwise degrees: turn it upright
                image = image.rotate(frame.rotation, expand=True)
            if frame.time is None or frame.time >= at - 0.05:
                break
        if image is None:
            return {"error": "no_frame"}
        image = image.convert("RGB")
        image.thumbnail((1280, 1280))
        image.save(out, "JPEG", quality=85)  # Pillow writes no EXIF unless given one
        return {"path": out, "width": image.width, "height": image.height}


def _playable_args(args: list[str]) -> tuple:
    """PATH OUT_DIR [--silence A:B,C:D] [--start S] [--end E]"""
    path, out_dir, *rest = args
    options = dict(zip(rest[::2], rest[1::2], strict=True))
    silence = [
        tuple(float(x) for x in pair.split(":"))
        for pair in options.get("--silence", "").split(",")
        if pair
    ]
    start = float(options["--start"]) if "--start" in options else None
    end = float(options["--end"]) if "--end" in options else None
    return path, out_dir, silence, start, end


def main(argv: list[str]) -> dict:
    mode, *args = argv
    if mode == "probe":
        return probe(*args)
    if mode == "decode":
        return decode(*args)
    if mode == "playable":
        return playable(*_playable_args(args))
    if mode == "poster":
        return poster(*args)
    return {"error": "usage"}


if __name__ == "__main__":
    try:
        result = main(sys.argv[1:])
    except MemoryError:
        result = {"error": "memory"}
    except Exception as exc:  # the parent turns this into a plain message
        result = {"error": "unreadable", "detail": type(exc).__name__}
    sys.stdout.write(json.dumps(result))
