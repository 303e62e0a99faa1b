"""GET /v1/events: the workspace's event log as Server-Sent Events, from a sequence id (`Last-Event-ID` or
`?since=`), optionally filtered by kind, then live as events are stored (woken in-process and through Redis,
and polling the log as a fallback). A slow client slows its own stream only: events are read from the
database as the connection accepts them, never buffered without bound."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.context import Ocma
from ocma_core.events import Event
from ocma_core.permissions import Action

router = APIRouter(tags=["events"])
HEARTBEAT_S = 15.0
POLL_S = 5.0  # read the log this often even without a wake-up
TICK_S = 0.2
PAGE = 200
MAX_SEQ = 2**62


def frame(event: Event) -> str:
    """One SSE message: id is the sequence id, event the kind, data the event as JSON."""
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event.as_dict(), separators=(',', ':'))}\n\n"


async def _stream(
    request: Request, ocma: Ocma, workspace_id: str, after: int, kinds: set[str], follow: bool
) -> AsyncIterator[str]:
    from ocma_core import eventbus
    from ocma_core.eventlog import read

    eventbus.listen(ocma)
    yield "retry: 3000\n\n"
    cursor, polled, beat = after, 0.0, time.monotonic()
    while True:
        now = time.monotonic()
        if eventbus.latest(workspace_id) > cursor or now - polled >= POLL_S or not polled:
            polled = now
            batch = await asyncio.to_thread(read, ocma, workspace_id, cursor, None, PAGE)
            for event in batch:
                cursor = event.seq or cursor
                if not kinds or event.kind in kinds:
                    yield frame(event)
                    beat = time.monotonic()
            if len(batch) == PAGE:
                continue
            if not follow:
                return
        if await request.is_disconnected():
            return
        if time.monotonic() - beat >= HEARTBEAT_S:
            yield ": keep-alive\n\n"
            beat = time.monotonic()
        await asyncio.sleep(TICK_S)


@router.get(
    "/v1/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_events(
    request: Request,
    since: int | None = Query(None, ge=0, le=MAX_SEQ, description="Send events after this sequence id."),
    kinds: str = Query("", max_length=2000, description="Comma-separated kinds to send; empty: all."),
    follow: bool = Query(True, description="Keep the stream open for new events (false: stored ones only)."),
    last_event_id: str | None = Header(None, max_length=32),
    caller: Caller = Depends(require(Action.EVENTS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> StreamingResponse:
    """The workspace's events as SSE (`id` = sequence id): resume with Last-Event-ID or ?since=; without
    either, only events stored from now on."""
    from ocma_core.eventlog import last_seq

    after = since
    header = (last_event_id or "").strip()
    if header.isascii() and header.isdigit() and int(header) <= MAX_SEQ:  # a reconnect: the header wins
        after = int(header)
    if after is None:
        after = await asyncio.to_thread(last_seq, ocma, caller.workspace_id)
    wanted = {k.strip() for k in kinds.split(",") if k.strip()}
    return StreamingResponse(
        _stream(request, ocma, caller.workspace_id, after, wanted, follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
