"""FILE_UPLOAD: planning chunks under TikTok's rules and sending them with `Content-Range`.

TikTok's media-transfer guide (developers.tiktok.com/doc/content-posting-api-media-transfer-guide): a video
goes up in 1-1000 chunks, sent in order with `PUT {upload_url}` and `Content-Range: bytes
{first}-{last}/{total}`. Each chunk is 5-64 MB except the last, which takes the remainder and may be up to
128 MB; `total_chunk_count = floor(video_size / chunk_size)`. A file under 5 MB goes whole, as one chunk,
and so may any file up to 64 MB. "MB" is not defined there, so OCMA keeps inside both readings: at least
5 MiB and at most 64 000 000 bytes a chunk, a last chunk of at most 128 000 000 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ocma_core import Rejected, Transient, Unconfirmed
from ocma_tiktok.api import failure_for

if TYPE_CHECKING:
    from ocma_core import AccountContext, MediaItem
    from ocma_tiktok.platform import TikTokPlatform

MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 64_000_000
MAX_LAST_CHUNK = 128_000_000
MAX_CHUNKS = 1000
DEFAULT_CHUNK = 32 * 1024 * 1024


@dataclass(frozen=True)
class ChunkPlan:
    """How a file of `video_size` bytes is cut: `count` chunks of `chunk_size`, the last one taking the rest."""

    video_size: int
    chunk_size: int
    count: int

    def ranges(self) -> list[tuple[int, int]]:
        """(first, last) byte of each chunk, inclusive, in order."""
        out = [(i * self.chunk_size, (i + 1) * self.chunk_size - 1) for i in range(self.count - 1)]
        out.append(((self.count - 1) * self.chunk_size, self.video_size - 1))
        return out

    def source_info(self) -> dict[str, object]:
        """The `source_info` of the init call."""
        return {
            "source": "FILE_UPLOAD",
            "video_size": self.video_size,
            "chunk_size": self.chunk_size,
            "total_chunk_count": self.count,
        }


def plan(video_size: int, chunk_size: int = DEFAULT_CHUNK) -> ChunkPlan:
    """The chunks for a file, growing `chunk_size` when 1000 would not be enough; Rejected when no valid
    plan exists (an empty file, or `chunk_size` outside 5 MiB-64 MB)."""
    if video_size <= 0:
        raise Rejected("The video file is empty.")
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise Rejected(f"A TikTok chunk is {MIN_CHUNK}-{MAX_CHUNK} bytes; {chunk_size} is not.")
    count = video_size // chunk_size
    if count <= 1 and video_size <= MAX_CHUNK:
        return ChunkPlan(video_size, video_size, 1)  # the whole file in one chunk
    if count <= 1:  # over 64 MB but under two chunks: two halves
        chunk_size, count = video_size // 2, 2
    if count > MAX_CHUNKS:
        chunk_size = -(-video_size // MAX_CHUNKS)
        count = video_size // chunk_size
        if chunk_size > MAX_CHUNK:
            raise Rejected(f"The video is too large for TikTok's {MAX_CHUNKS} chunks of {MAX_CHUNK} bytes.")
    result = ChunkPlan(video_size, chunk_size, count)
    check(result)
    return result


def check(chunks: ChunkPlan) -> None:
    """Rejected unless the plan keeps TikTok's rules (the fake applies the same checks to what it receives)."""
    problem = rule_break(chunks.video_size, chunks.chunk_size, chunks.count)
    if problem:
        raise Rejected(f"Invalid TikTok chunk plan: {problem}.")


def rule_break(video_size: int, chunk_size: int, count: int) -> str:
    """What breaks TikTok's chunk rules in (size, chunk size, count); "" when nothing does."""
    if not 1 <= count <= MAX_CHUNKS:
        return f"{count} chunks (1-{MAX_CHUNKS} allowed)"
    if count == 1:
        return "" if chunk_size == video_size <= MAX_CHUNK else "a single chunk must be the whole file"
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        return f"chunk size {chunk_size} outside {MIN_CHUNK}-{MAX_CHUNK}"
    if count != video_size // chunk_size:
        return f"total_chunk_count {count} is not floor({video_size}/{chunk_size})"
    last = video_size - (count - 1) * chunk_size
    if last > MAX_LAST_CHUNK:
        return f"last chunk {last} bytes over {MAX_LAST_CHUNK}"
    return ""


async def send_chunks(
    platform: TikTokPlatform, ctx: AccountContext, upload_url: str, item: MediaItem, chunks: ChunkPlan
) -> bool:
    """PUT every chunk in order, reading the file a chunk at a time; True when TikTok confirmed them all.

    A lost answer before the last chunk is Transient: the rest was never sent, so TikTok never had the whole
    video and cannot post it (the engine starts again). A lost answer to the last chunk returns False: TikTok
    may have the whole file, and its status (asked next, as for any publish) tells."""
    ranges = chunks.ranges()
    with Path(item.path).open("rb") as handle:
        for index, (first, last) in enumerate(ranges, start=1):
            handle.seek(first)
            data = handle.read(last - first + 1)
            try:
                response = await platform.send(
                    "PUT",
                    upload_url,
                    ctx=ctx,
                    bucket="upload",
                    content=data,
                    headers={
                        "Content-Type": item.mime_type or "video/mp4",
                        "Content-Length": str(len(data)),
                        "Content-Range": f"bytes {first}-{last}/{chunks.video_size}",
                    },
                )
            except Unconfirmed as exc:
                if index == len(ranges):
                    return False
                raise Transient(
                    f"The upload to TikTok broke off at chunk {index} of {len(ranges)} ({exc.message}); TikTok "
                    "never had the whole video, so nothing was posted."
                ) from exc
            failure = failure_for(response, creates=True) if response.status_code >= 400 else None
            if failure is not None:
                raise failure
    return True


def mp4_duration_s(path: Path) -> float | None:
    """The duration an MP4/MOV file declares in `moov/mvhd`, or None when it cannot be read."""
    try:
        with path.open("rb") as handle:
            moov = _find_box(handle, b"moov", path.stat().st_size)
            if moov is None:
                return None
            mvhd = _find_box(handle, b"mvhd", moov)
            if mvhd is None:
                return None
            version = handle.read(4)[0]
            if version == 1:
                _, _, timescale, duration = struct.unpack(">QQIQ", handle.read(28))
            else:
                _, _, timescale, duration = struct.unpack(">IIII", handle.read(16))
            return duration / timescale if timescale else None
    except (OSError, struct.error, IndexError):
        return None


def _find_box(handle: BinaryIO, kind: bytes, end: int) -> int | None:
    """Walk boxes from the current position up to `end`; leaves the file inside the box, returns its end."""
    while handle.tell() + 8 <= end:
        start = handle.tell()
        raw_size, name = struct.unpack(">I4s", handle.read(8))
        size = int(raw_size)
        if size == 1:
            size = int(struct.unpack(">Q", handle.read(8))[0])
        elif size == 0:
            size = end - start
        if size < 8:
            return None
        if name == kind:
            return start + size
        handle.seek(start + size)
    return None
