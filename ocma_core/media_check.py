"""What an uploaded file really is: its type from its bytes (never its name), and proof that it is whole.

A file's name and the Content-Type a client claims are only claims: a text file renamed to .png, or a PNG cut
off half-way, would otherwise be stored and handed to the platforms, which refuse it at publish time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ocma_core.errors import ValidationFailed

ALLOWED_TYPES = {
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/quicktime", "video/webm",
}  # fmt: skip
NAMES = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP",
    "video/mp4": "MP4", "video/quicktime": "MOV", "video/webm": "WebM",
}  # fmt: skip
MAX_BYTES = 1024 * 1024 * 1024
HEAD = 64
FIX = "Upload the original JPEG, PNG, GIF or WebP image, or MP4, MOV or WebM video (not a renamed file)."


@dataclass(frozen=True)
class MediaFacts:
    """A checked file: its real type and, for images, its size in pixels."""

    mime_type: str
    width: int | None = None
    height: int | None = None


def sniff_mime(head: bytes) -> str | None:
    """The MIME type the file's first bytes prove, or None when they match no type OCMA stores."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= 8:
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def inspect(source: BinaryIO, size: int, filename: str = "", claimed: str | None = None) -> MediaFacts:
    """Check a file (a seekable binary file) and return what it is, or a ValidationFailed saying what is wrong."""
    label = filename or "The file"
    if size == 0:
        raise ValidationFailed(f"{label} is empty.", fix="Choose the file again; it has no bytes.")
    if size > MAX_BYTES:
        raise ValidationFailed(f"{label} is larger than {MAX_BYTES} bytes.", fix="Upload a smaller file.")
    source.seek(0)
    mime = sniff_mime(source.read(HEAD))
    said = f" (it was sent as {claimed})" if claimed and claimed != "application/octet-stream" else ""
    if mime is None:
        raise ValidationFailed(f"{label}{said} is not an image or video OCMA can store: its bytes are not "
                               "a JPEG, PNG, GIF, WebP, MP4, MOV or WebM file.", fix=FIX)  # fmt: skip
    if not mime.startswith("image/"):
        return MediaFacts(mime)
    return MediaFacts(mime, *_verify_image(source, label, NAMES[mime]))


def _verify_image(source: BinaryIO, label: str, kind: str) -> tuple[int, int]:
    """Open the image with Pillow and verify its structure; returns (width, height)."""
    import warnings

    from PIL import Image

    source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                image.verify()
    except Exception as exc:
        raise ValidationFailed(
            f"{label} starts like a {kind} image but is damaged or cut short ({type(exc).__name__}: {exc}).",
            fix="Export or download the image again and upload the complete file.",
        ) from None
    return int(width), int(height)


@contextmanager
def spooled_copy(
    source: BinaryIO, directory: Path, limit: int = MAX_BYTES
) -> Iterator[tuple[Path, str, int]]:
    """Copy a stream to a private temporary file in 1 MiB pieces, hashing as it goes (never all in memory).

    Yields (path, sha256 hex, size); the file is removed afterwards unless the caller moved it away.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".upload.")
    path = Path(name)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(
                        f"The file is larger than {limit} bytes.", fix="Upload a smaller file."
                    )
                digest.update(chunk)
                out.write(chunk)
        yield path, digest.hexdigest(), size
    finally:
        path.unlink(missing_ok=True)


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file and a rename (readers never see half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
