"""Run as `python -m stories.probe_worker PATH` (a recording) or
`python -m stories.probe_worker --image PATH MAX_PIXELS` (a photo) in a separate, limited
process (see stories.media). Prints one JSON object describing the file, or {"error": NAME}:
never a message of the decoder's, which could quote paths or the file's own bytes."""

import json
import re
import sys

# Containers a phone, a recorder or a camera produces. Anything else (playlists, images,
# documents, network protocols) is refused before FFmpeg follows it anywhere.
ALLOWED_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,mp3,wav,flac,aac,caf,amr,w64"
# FFmpeg stops adding streams past this many (its own default is 1000); stories.media
# refuses anything over its far smaller limit.
MAX_STREAMS = 64
OPTIONS = {
    "protocol_whitelist": "file",
    "format_whitelist": ALLOWED_FORMATS,
    "max_streams": str(MAX_STREAMS),
}


def main(path: str) -> dict:
    import av

    with av.open(path, options=dict(OPTIONS)) as container:
        audio = [s for s in container.streams.audio]
        video = [
            s
            for s in container.streams.video
            if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        duration = container.duration / 1_000_000 if container.duration else None
        if duration is None and audio and audio[0].duration and audio[0].time_base:
            duration = float(audio[0].duration * audio[0].time_base)
        # Decode a little audio: a header can lie, a real recording decodes.
        decoded = 0
        if audio:
            for frame in container.decode(audio=0):
                decoded += frame.samples
                if decoded >= 4000:
                    break
        if duration is None and audio:
            # Browser recordings (MediaRecorder WebM) have no duration in their header.
            duration = _duration_from_packets(path, dict(OPTIONS))
        return {
            "format": container.format.name,
            "duration": duration,
            "streams": len(container.streams),
            "audio_streams": len(audio),
            "video_streams": len(video),
            "decoded_samples": decoded,
        }


def _duration_from_packets(path: str, options: dict) -> float | None:
    """The end of the last audio packet: read the timestamps, decode nothing."""
    import av

    with av.open(path, options=options) as container:
        stream = container.streams.audio[0]
        end = 0.0
        for packet in container.demux(stream):
            if packet.pts is not None and stream.time_base:
                end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base))
        return end or None


# Markup a browser would run, hidden in a picture's comments or after its end (a polyglot).
_MARKUP = re.compile(
    rb"<\s*(?:script|html|body|svg|iframe|object|embed|meta)\b|<!doctype|javascript:",
    re.IGNORECASE,
)
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def image(path: str, max_pixels: int) -> dict:
    """A photo of a signed form: PNG or JPEG, one frame, at most `max_pixels` (checked from
    the header, before decoding), no markup in its text chunks, comments or after its end,
    and every pixel decodable."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb check: refuses at twice this
    with open(path, "rb") as handle:
        data = handle.read()
    with Image.open(path, formats=["PNG", "JPEG"]) as picture:
        width, height = picture.size
        if width * height > max_pixels:
            return {"error": "too_many_pixels"}
        if getattr(picture, "n_frames", 1) > 1:
            return {"error": "animated"}
        hidden = [
            value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
            for value in picture.info.values()
            if isinstance(value, (str, bytes))
        ]
        hidden += [segment for _marker, segment in getattr(picture, "applist", [])]
        if picture.format == "PNG":
            end = data.rfind(_PNG_END)
            if end < 0:
                return {"error": "damaged"}
            hidden.append(data[end + len(_PNG_END) :])
            if data[end + len(_PNG_END) :].strip(b"\x00"):
                return {"error": "hidden"}
        else:
            end = data.rfind(b"\xff\xd9")
            hidden.append(data[end + 2 :] if end >= 0 else b"")
        if any(_MARKUP.search(part) for part in hidden):
            return {"error": "hidden"}
        kind = picture.format
        picture.verify()
    with Image.open(path, formats=["PNG", "JPEG"]) as picture:
        picture.load()  # every pixel, within this process's memory limit
    return {"format": kind, "width": width, "height": height}


if __name__ == "__main__":
    try:
        if sys.argv[1] == "--image":
            result = image(sys.argv[2], int(sys.argv[3]))
        else:
            result = main(sys.argv[1])
    except MemoryError:
        result = {"error": "memory"}
    except Exception as exc:  # the parent turns this into a plain message
        name = type(exc).__name__
        result = {"error": "too_many_pixels" if name == "DecompressionBombError" else name}
    print(json.dumps(result))
