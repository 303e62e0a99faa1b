"""The live feed both streams share (SSE `GET /v1/events`, WebSocket `/v1/stream`): the workspace's stored
events after a sequence id, optionally some kinds, then live as they are stored (woken in-process and through
Redis, polling the log as a fallback). Events are read from the database only as the client takes them, so a
slow client slows its own feed and never grows memory (live events wait in a bounded queue; past it the
feed reads the log)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from ocma_core.context import Ocma
from ocma_core.events import Event

HEARTBEAT_S = 15.0
KEY_RECHECK_S = 10.0  # how often an open stream checks that its API key is still active
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


async def _stored(ocma: Ocma, workspace_id: str, after: int) -> AsyncIterator[Event]:
    """Every stored event after `after`, page by page."""
    from ocma_core.eventlog import read

    while True:
        batch = await asyncio.to_thread(read, ocma, workspace_id, after, None, PAGE)
        for event in batch:
            after = event.seq or after
            yield event
        if len(batch) < PAGE:
            return


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
    when the stored events are sent and not `follow`, or when `gone()` says the client left. Stored events
    come from the log; live ones from the process's reader (ocma_core.api.event_hub), and from the log again
    whenever a sequence id shows some were missed."""
    from ocma_core.api.event_hub import subscribe

    cursor = after
    async for event in _stored(ocma, workspace_id, cursor):
        cursor = event.seq or cursor
        if not kinds or event.kind in kinds:
            yield event
    if not follow:
        return
    async with subscribe(ocma, workspace_id) as sub:
        beat, catch_up = time.monotonic(), True  # once more: what was stored before subscribing
        while True:
            if catch_up:
                sub.lagging, catch_up = False, False
                async for event in _stored(ocma, workspace_id, cursor):
                    cursor = event.seq or cursor
                    if not kinds or event.kind in kinds:
                        yield event
                        beat = time.monotonic()
            item = sub.queue.get_nowait() if not sub.queue.empty() else await sub.queue.get()
            if item is None:  # the reader's tick (TICK_S): nothing came for a while
                catch_up = sub.missed(cursor)
                if await gone():
                    return
                if time.monotonic() - beat >= heartbeat_s:
                    yield None
                    beat = time.monotonic()
                continue
            seq = item.seq or 0
            if seq <= cursor:
                continue
            if seq > cursor + 1:  # some did not reach this queue: read them (and this one) from the log
                catch_up = True
                continue
            cursor = seq
            if not kinds or item.kind in kinds:
                yield item
                beat = time.monotonic()
            catch_up = sub.lagging and sub.queue.empty()


class KeyWatch:
    """Whether the key a stream was opened with has been revoked since (checked at most every KEY_RECHECK_S):
    an open stream ends when its key is revoked, as a new request with that key would be refused."""

    def __init__(self, ocma: Ocma, key_id: str) -> None:
        self.ocma, self.key_id = ocma, key_id
        self.checked = time.monotonic()
        self.revoked = False

    async def check(self) -> bool:
        """True once the key is revoked (or gone)."""
        if not self.revoked and time.monotonic() - self.checked >= KEY_RECHECK_S:
            self.checked = time.monotonic()
            self.revoked = not await _shared_check(self.ocma, self.key_id)
        return self.revoked


_checks: dict[tuple[int, int, str], tuple[float, asyncio.Future[bool]]] = {}


async def _shared_check(ocma: Ocma, key_id: str) -> bool:
    """Whether the key is active, asked of the database at most once per KEY_RECHECK_S per key and event loop
    however many streams it holds open (1,000 streams of one key: one query, not 1,000)."""
    loop = asyncio.get_running_loop()
    slot, now = (id(loop), id(ocma), key_id), time.monotonic()
    found = _checks.get(slot)
    if found is None or now - found[0] >= KEY_RECHECK_S:
        if len(_checks) > 10_000:  # forget old answers rather than grow
            for old in [k for k, (at, _) in _checks.items() if now - at >= KEY_RECHECK_S]:
                del _checks[old]
        found = _checks[slot] = (now, asyncio.ensure_future(asyncio.to_thread(_key_active, ocma, key_id)))
    return await asyncio.shield(found[1])


def _key_active(ocma: Ocma, key_id: str) -> bool:
    from sqlmodel import select

    from ocma_core.db.models import ApiKey

    with ocma.session() as session:
        record = session.exec(select(ApiKey).where(ApiKey.key_id == key_id)).first()
        return record is not None and record.revoked_at is None
