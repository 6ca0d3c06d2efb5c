"""Hostile files, made in the test: headers that lie, too many tracks, playlists that point
at the server's own files, pictures with a web page hidden in them, decompression bombs."""

import io
import struct
import zlib
from pathlib import Path

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 50
# The start of a real Linux executable (ELF header), padded out.
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\x3e\x00" + b"\x00" * 4000

SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>\n"
)
HTML_DOCUMENT = (
    b"<!DOCTYPE html>\n<html><head><title>Story</title></head>"
    b"<body><script>fetch('/admin/').then(r => r.text()).then(alert)</script></body></html>\n"
)


def _ebml_id(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _ebml_size(n: int) -> bytes:
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return (n | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError(n)


def _element(element_id: int, payload: bytes) -> bytes:
    return _ebml_id(element_id) + _ebml_size(len(payload)) + payload


def _uint(element_id: int, value: int) -> bytes:
    return _element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def matroska_with_tracks(count: int) -> bytes:
    """A Matroska file that declares `count` audio tracks (a "million streams" file is the
    same thing, bigger) and holds no sound at all."""
    header = _element(
        0x1A45DFA3,
        _uint(0x4286, 1)
        + _uint(0x42F7, 1)
        + _uint(0x42F2, 4)
        + _uint(0x42F3, 8)
        + _element(0x4282, b"matroska")
        + _uint(0x4287, 4)
        + _uint(0x4285, 2),
    )
    audio = _element(0xE1, _element(0xB5, struct.pack(">d", 16000.0)) + _uint(0x9F, 1))
    entries = b"".join(
        _element(
            0xAE,
            _uint(0xD7, n)
            + _uint(0x73C5, n)
            + _uint(0x83, 2)
            + _element(0x86, b"A_PCM/INT/LIT")
            + audio,
        )
        for n in range(1, count + 1)
    )
    info = _element(0x1549A966, _uint(0x2AD7B1, 1_000_000) + _element(0x4D80, b"x"))
    segment = _element(0x18538067, info + _element(0x1654AE6B, entries))
    return header + segment


def playlist_disguised_as_mp3(target: str) -> bytes:
    """An HLS playlist behind an ID3 tag (so that it starts like an MP3), pointing at `target`:
    a file on the server or an address on the network."""
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x00"
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n"
    ).encode()
    return tag + playlist


def png(width: int = 4, height: int = 4, *, text: dict | None = None) -> bytes:
    from PIL import Image, PngImagePlugin

    picture = Image.new("RGB", (width, height), (200, 180, 20))
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    """A phone photo: JPEG with EXIF that says where it was taken."""
    from PIL import Image

    picture = Image.new("RGB", (16, 16), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 26.0), "W", (0.0, 7.0, 39.0)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_html_polyglot() -> bytes:
    """A real PNG with a web page after its end: a browser that sniffed it would run it."""
    return png() + HTML_DOCUMENT


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG claiming width × height pixels: 2.5 billion for the default (7.5 GB decoded),
    in a few hundred bytes of file."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * min(width, 1000)) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def animated_png(frames: int = 200) -> bytes:
    from PIL import Image

    pictures = [Image.new("RGB", (8, 8), (i % 256, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="PNG", save_all=True, append_images=pictures[1:])
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _encode(fmt: str, codec: str, *, seconds: float = 1.0, rate: int = 16_000, tracks: int = 1):
    import av
    import numpy

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as out:
        streams = [out.add_stream(codec, rate=rate, layout="mono") for _ in range(tracks)]
        tone = 8000 * numpy.sin(2 * numpy.pi * 440 * numpy.arange(int(seconds * rate)) / rate)
        samples = tone.astype("int16").reshape(1, -1)
        for stream in streams:
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    return buffer.getvalue()


def flac_claiming(seconds: float, *, real_seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A FLAC file whose STREAMINFO says it lasts `seconds` (10 hours, say) but which holds
    only `real_seconds` of sound: a header that lies about its length."""
    data = bytearray(_encode("flac", "flac", seconds=real_seconds, rate=rate))
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first
    start = 8 + 10  # after the block header and the block/frame sizes
    packed = int.from_bytes(data[start : start + 8], "big")
    packed = (packed & ~((1 << 36) - 1)) | int(seconds * rate)
    data[start : start + 8] = packed.to_bytes(8, "big")
    return bytes(data)


def matroska_with_many_real_tracks(tracks: int = 20) -> bytes:
    """A playable Matroska file with `tracks` audio tracks: more than any recorder makes."""
    return _encode("matroska", "pcm_s16le", seconds=0.2, tracks=tracks)


def playlist(target: str) -> bytes:
    """A plain HLS playlist: FFmpeg, left to itself, opens `target` and plays it."""
    return (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11.0,\n{target}\n#EXT-X-ENDLIST\n"
    ).encode()
