"""GET /v1/events (and GET /v1/stream, the WebSocket's URL): the workspace's event log as Server-Sent Events, from a sequence id (`Last-Event-ID` or
`?since=`), optionally filtered by kind, then live as events are stored (ocma_core.api.event_feed). The same
feed is a WebSocket at /v1/stream (ocma_core.api.routes_stream). Both count against the key's
OCMA_STREAM_MAX_PER_KEY open streams (ocma_core.api.stream_slots): one more SSE request gets a 429 problem."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ocma_core.api import stream_slots
from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.event_feed import MAX_SEQ, KeyWatch, follow_log, parse_kinds, resume_point, start_point
from ocma_core.api.openapi import errors
from ocma_core.context import Ocma
from ocma_core.events import Event
from ocma_core.permissions import Action

router = APIRouter(tags=["events"])


def frame(event: Event) -> str:
    """One SSE message: id is the sequence id, event the kind, data the event as JSON."""
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event.as_dict(), separators=(',', ':'))}\n\n"


async def _stream(
    request: Request, ocma: Ocma, caller: Caller, after: int, kinds: set[str], follow: bool
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    key = KeyWatch(ocma, caller.key_id)

    async def gone() -> bool:
        return await request.is_disconnected() or await key.check()

    feed = follow_log(ocma, caller.workspace_id, after, kinds, follow=follow, gone=gone)
    async for event in feed:
        if await key.check():
            return  # the key was revoked: the stream ends as a new request with it would be refused
        yield ": keep-alive\n\n" if event is None else frame(event)


class _HeldStream(StreamingResponse):
    """A streaming response that gives the key's stream slot back however it ends (done, client gone, error)."""

    def __init__(self, ocma: Ocma, key_id: str, content: AsyncIterator[str], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._slot = (ocma, key_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stream, then free the slot."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            stream_slots.give_back(*self._slot)


SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}
}


@router.get("/v1/events", response_class=StreamingResponse, responses={**SSE, **errors(429)})
@router.get(
    "/v1/stream",
    response_class=StreamingResponse,
    responses={**SSE, **errors(429)},
    operation_id="stream_events_sse",
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
    either, only events stored from now on. 429 when the key holds OCMA_STREAM_MAX_PER_KEY streams open."""
    after = await start_point(ocma, caller.workspace_id, resume_point(last_event_id, since))
    if not stream_slots.take(ocma, caller.key_id):
        raise stream_slots.TooManyStreams(
            f"Too many event streams: {stream_slots.too_many(ocma)}.",
            fix="Close a stream this key holds (SSE or WebSocket), or use another API key.",
        )
    return _HeldStream(
        ocma,
        caller.key_id,
        _stream(request, ocma, caller, after, parse_kinds(kinds), follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
