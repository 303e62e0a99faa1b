"""The live feed both streams share (SSE `GET /v1/events`, WebSocket `/v1/stream`): the workspace's stored
events after a sequence id, optionally some kinds, then live as they are stored (woken in-process and through
Redis, polling the log as a fallback). Events are read from the database only as the client takes them, so a
slow client slows its own feed and never grows memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from ocma_core.context import Ocma
from ocma_core.events import Event

HEARTBEAT_S = 15.0
POLL_S = 5.0  # read the log this often even without a wake-up
TICK_S = 0.2
PAGE = 200
MAX_SEQ = 2**62


def parse_kinds(kinds: str) -> set[str]:
    """The kinds of a comma-separated filter (empty: every kind)."""
    return {k.strip() for k in kinds.split(",") if k.strip()}


def resume_point(header: str | None, since: int | None) -> int | None:
    """Where a client resumes: a numeric Last-Event-ID (a reconnect) wins over ?since=."""
    value = (header or "").strip()
    if value.isascii() and value.isdigit() and int(value) <= MAX_SEQ:
        return int(value)
    return since


async def start_point(ocma: Ocma, workspace_id: str, after: int | None) -> int:
    """The resume point, or the newest sequence id (only events stored from now on) when there is none."""
    from ocma_core.eventlog import last_seq

    if after is not None:
        return after
    return await asyncio.to_thread(last_seq, ocma, workspace_id)


async def follow_log(
    ocma: Ocma,
    workspace_id: str,
    after: int,
    kinds: set[str],
    *,
    follow: bool,
    gone: Callable[[], Awaitable[bool]],
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[Event | None]:
    """Events after `after` (those of `kinds`, all if empty), in order; None when a heartbeat is due. Ends
    when the stored events are sent and not `follow`, or when `gone()` says the client left."""
    from ocma_core import eventbus
    from ocma_core.eventlog import read

    eventbus.listen(ocma)
    cursor, polled, beat = after, 0.0, time.monotonic()
    while True:
        now = time.monotonic()
        if eventbus.latest(workspace_id) > cursor or now - polled >= POLL_S or not polled:
            polled = now
            batch = await asyncio.to_thread(read, ocma, workspace_id, cursor, None, PAGE)
            for event in batch:
                cursor = event.seq or cursor
                if not kinds or event.kind in kinds:
                    yield event
                    beat = time.monotonic()
            if len(batch) == PAGE:
                continue
            if not follow:
                return
        if await gone():
            return
        if time.monotonic() - beat >= heartbeat_s:
            yield None
            beat = time.monotonic()
        await asyncio.sleep(TICK_S)
