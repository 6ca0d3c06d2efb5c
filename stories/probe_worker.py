"""Run as `python -m stories.probe_worker PATH` in a separate, limited process (see
stories.media.probe_media). Prints one JSON object describing the file's streams."""

import json
import sys

# Containers a phone, a recorder or a camera produces. Anything else (playlists, images,
# documents, network protocols) is refused before FFmpeg follows it anywhere.
ALLOWED_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,mp3,wav,flac,aac,caf,amr,w64"


def main(path: str) -> dict:
    import av

    options = {"protocol_whitelist": "file", "format_whitelist": ALLOWED_FORMATS}
    with av.open(path, options=options) as container:
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
            duration = _duration_from_packets(path, options)
        return {
            "format": container.format.name,
            "duration": duration,
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


if __name__ == "__main__":
    try:
        result = main(sys.argv[1])
    except Exception as exc:  # the parent turns this into a plain message
        result = {"error": type(exc).__name__}
    print(json.dumps(result))
