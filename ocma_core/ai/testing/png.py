"""Small valid PNG and JPEG images made with the standard library, for fake image APIs."""

from __future__ import annotations

import struct
import zlib


def png(width: int, height: int, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A solid-colour PNG of the given size (compresses to a few KB)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def jpeg_header(width: int, height: int) -> bytes:
    """A minimal JPEG-shaped byte string (SOI, SOF0 with the size, EOI): enough for type and size sniffing."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def colour_for(text: str) -> tuple[int, int, int]:
    """A colour derived from `text`, so different prompts give different (distinct-hash) images."""
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return digest[0], digest[1], digest[2]


def image_bytes(width: int, height: int, fmt: str, seed_text: str) -> bytes:
    """PNG for png/webp requests (the fake does not encode WebP), a JPEG-shaped header for jpeg."""
    if fmt.lower() in ("jpeg", "jpg"):
        return jpeg_header(width, height) + seed_text.encode("utf-8")[:64]
    return png(width, height, colour_for(seed_text))
