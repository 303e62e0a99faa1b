"""The per-API-key cap on open event streams (OCMA_STREAM_MAX_PER_KEY), shared by the WebSocket `/v1/stream`
and SSE (`GET /v1/events`, `GET /v1/stream`): one count per key and server process over both kinds, so a key
cannot hold the cap in sockets and again as many SSE responses."""

from __future__ import annotations

from ocma_core.context import Ocma
from ocma_core.errors import OcmaError

_open: dict[tuple[int, str], int] = {}  # open streams per (ocma, API key)


class TooManyStreams(OcmaError):
    """The API key already holds OCMA_STREAM_MAX_PER_KEY streams open on this server process."""

    status_code = 429
    title = "Too many requests"


def too_many(ocma: Ocma) -> str:
    """Why one more stream is refused, naming the setting."""
    return (
        f"this API key already has {ocma.settings.stream_max_per_key} streams open (OCMA_STREAM_MAX_PER_KEY)"
    )


def take(ocma: Ocma, key_id: str) -> bool:
    """Count one more open stream for the key; False (nothing counted) when it holds the cap already."""
    slot = (id(ocma), key_id)
    if _open.get(slot, 0) >= ocma.settings.stream_max_per_key:
        return False
    _open[slot] = _open.get(slot, 0) + 1
    return True


def give_back(ocma: Ocma, key_id: str) -> None:
    """A stream the key held has ended."""
    slot = (id(ocma), key_id)
    _open[slot] -= 1
    if not _open[slot]:
        del _open[slot]


def open_streams(ocma: Ocma, key_id: str) -> int:
    """Streams (sockets and SSE) the key holds open on this process (for tests and metrics)."""
    return _open.get((id(ocma), key_id), 0)
