"""The live event stream as a WebSocket: `/v1/stream`, the same feed as SSE `GET /v1/events` (stored events
after `?since=` or `Last-Event-ID`, filtered by `?kinds=`, then live), authenticated with an API key
(`Authorization: Bearer`) or a single-use ticket from `POST /v1/stream/tickets` (`?ticket=`, for browsers).

Messages are JSON text: `{"type": "event", "id", "seq", "kind", "workspace_id", "at", "data"}` per event and
`{"type": "heartbeat"}` when nothing was sent for a while. A client that does not take a message within
SEND_TIMEOUT_S is dropped with close code 1013 (try again later): it reconnects with `?since=<last seq>`.
One API key may hold OCMA_STREAM_MAX_PER_KEY streams (sockets and SSE together, ocma_core.api.stream_slots)
open at once per server process; one more socket is closed at once with code 4029 (too many streams; like
HTTP 429). Clients have nothing to say on the socket: a message from them over MAX_INCOMING bytes closes it
with 1009 (message too big), and `ocma serve` refuses such frames before reading them whole."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import APIRouter, Depends, Query, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from ocma_core.api import stream_slots
from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.event_feed import MAX_SEQ, KeyWatch, follow_log, parse_kinds, resume_point, start_point
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.errors import PermissionDenied
from ocma_core.events import Event
from ocma_core.permissions import Action, check

router = APIRouter(tags=["events"])
SEND_TIMEOUT_S = 30.0
SLOW_CLIENT = 1013  # "try again later": the client fell behind and should resume from its last seq
POLICY = 1008
TOO_BIG = 1009
TOO_MANY = 4029  # this API key already holds OCMA_STREAM_MAX_PER_KEY streams open in this process
MAX_INCOMING = 4096  # bytes of one message from a client (they need send nothing at all)
HEARTBEAT = '{"type":"heartbeat"}'
_wired: OrderedDict[str, str] = OrderedDict()


def wire(event: Event) -> str:
    """The event's message, made once for all the clients it goes to (the last 1,024 are kept)."""
    text = _wired.get(event.id)
    if text is None:
        text = json.dumps({"type": "event", **event.as_dict()}, separators=(",", ":"))
        _wired[event.id] = text
        if len(_wired) > 1024:
            _wired.popitem(last=False)
    return text


class StreamTicket(BaseModel):
    """A single-use ticket for `/v1/stream?ticket=`."""

    ticket: str
    expires_at: datetime


@router.post("/v1/stream/tickets", status_code=201)
def new_ticket(
    caller: Caller = Depends(require(Action.EVENTS_READ)), ocma: Ocma = Depends(get_ocma)
) -> StreamTicket:
    """A ticket that opens the WebSocket stream once within 60 s, acting as this API key."""
    from ocma_core.services.stream_tickets import issue

    made = issue(ocma, caller.key_id)
    return StreamTicket(ticket=made.ticket, expires_at=made.expires_at)


def _authenticate(ocma: Ocma, authorization: str, ticket: str | None) -> Caller | tuple[int, str]:
    """The caller of a WebSocket handshake, or (HTTP status, why) to refuse it."""
    from ocma_core.services.stream_tickets import redeem
    from ocma_core.services.workspaces import authenticate

    scheme, _, key = authorization.partition(" ")
    if ticket:
        record = redeem(ocma, ticket)
        why = "Invalid, expired or used ticket: ask POST /v1/stream/tickets for a new one."
    elif scheme.lower() == "bearer" and key.strip():
        record = authenticate(ocma, key.strip())
        why = "Invalid or revoked API key."
    else:
        return (
            401,
            "Missing API key: send `Authorization: Bearer <key>` or `?ticket=` (POST /v1/stream/tickets).",
        )
    if record is None:
        return 401, why
    caller = Caller(workspace_id=record.workspace_id, role=Role(record.role), key_id=record.key_id)
    try:
        check(caller.role, Action.EVENTS_READ, "api")
    except PermissionDenied as exc:
        return 403, str(exc)
    return caller


async def _refuse(websocket: WebSocket, status: int, why: str) -> None:
    """Refuse the handshake with an HTTP problem where the server can send one, else a policy close."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        title = "Unauthorized" if status == 401 else "Forbidden"
        problem = {"type": "about:blank", "title": title, "status": status, "detail": why}
        await websocket.send_denial_response(
            JSONResponse(problem, status_code=status, media_type="application/problem+json")
        )
    else:
        await websocket.close(POLICY, why[:120])


class _Sending:
    """When the socket's current send began (0: not sending). One task per event loop looks at every socket
    each second and cancels a send stuck for SEND_TIMEOUT_S (`too_slow`): a timer per message, as
    asyncio.timeout would arm, cost more than the rest of the send."""

    def __init__(self) -> None:
        self.since = 0.0
        self.too_slow = False
        self.task = asyncio.current_task()

    @contextmanager
    def watched(self) -> Iterator[None]:
        """Watch the socket's sends for the duration of the block."""
        loop = asyncio.get_running_loop()
        watched = _sending.setdefault(loop, set())
        watched.add(self)
        if len(watched) == 1:
            task = loop.create_task(_sweep(loop, watched))
            _sweepers.add(task)
            task.add_done_callback(_sweepers.discard)
        try:
            yield
        finally:
            watched.discard(self)


_sweepers: set[asyncio.Task[None]] = set()
_sending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[_Sending]] = weakref.WeakKeyDictionary()


async def _sweep(loop: asyncio.AbstractEventLoop, watched: set[_Sending]) -> None:
    """Cancel the sends stuck past SEND_TIMEOUT_S, every second while any socket is watched."""
    while watched:
        await asyncio.sleep(1.0)
        now = loop.time()
        for sending in list(watched):
            if sending.since and now - sending.since >= SEND_TIMEOUT_S and not sending.too_slow:
                sending.too_slow = True
                if sending.task is not None:
                    sending.task.cancel()
    _sending.pop(loop, None)


class _Left(asyncio.Event):
    """Set when the client went, or sent a message too big (`too_big`)."""

    too_big = False


async def _watch(websocket: WebSocket, left: _Left) -> None:
    """Read (and ignore) what the client sends until it goes or sends more than MAX_INCOMING bytes at once."""
    try:
        while (message := await websocket.receive())["type"] != "websocket.disconnect":
            if len(message.get("text") or message.get("bytes") or "") > MAX_INCOMING:
                left.too_big = True
                return
    except Exception:  # the connection broke: same as leaving
        pass
    finally:
        left.set()


@router.websocket("/v1/stream")
async def stream_socket(
    websocket: WebSocket,
    since: int | None = Query(None, ge=0, le=MAX_SEQ),
    kinds: str = Query("", max_length=2000),
    follow: bool = Query(True),
    ticket: str | None = Query(None, max_length=1000),
) -> None:
    """The workspace's events over a WebSocket, resumable and filtered like GET /v1/events."""
    ocma: Ocma = websocket.app.state.ocma
    who = await asyncio.to_thread(_authenticate, ocma, websocket.headers.get("authorization", ""), ticket)
    if not isinstance(who, Caller):
        await _refuse(websocket, *who)
        return
    after = await start_point(
        ocma, who.workspace_id, resume_point(websocket.headers.get("last-event-id"), since)
    )
    if not stream_slots.take(ocma, who.key_id):
        await websocket.accept()
        await _close_quietly(websocket, TOO_MANY, stream_slots.too_many(ocma)[:120])
        return
    try:
        await websocket.accept()
        await _serve(websocket, ocma, who, after, kinds, follow)
    finally:
        stream_slots.give_back(ocma, who.key_id)


async def _serve(websocket: WebSocket, ocma: Ocma, who: Caller, after: int, kinds: str, follow: bool) -> None:
    """Send the feed on an accepted socket until it ends, the client goes, or it must be closed."""
    left = _Left()
    watcher = asyncio.create_task(_watch(websocket, left))
    key = KeyWatch(ocma, who.key_id)
    loop, sending = asyncio.get_running_loop(), _Sending()

    async def gone() -> bool:
        return left.is_set() or await key.check()

    try:
        feed = follow_log(ocma, who.workspace_id, after, parse_kinds(kinds), follow=follow, gone=gone)
        with sending.watched():
            async for event in feed:
                if await key.check():
                    break
                sending.since = loop.time()
                await websocket.send_text(HEARTBEAT if event is None else wire(event))
                sending.since = 0.0
        if key.revoked:
            await _close_quietly(websocket, POLICY, "the API key was revoked")
        elif left.too_big:
            await _close_quietly(
                websocket, TOO_BIG, f"messages to the stream are at most {MAX_INCOMING} bytes"
            )
        elif not left.is_set():
            await websocket.close(1000)
    except asyncio.CancelledError:
        if not sending.too_slow:
            raise
        asyncio.current_task().uncancel()  # type: ignore[union-attr]
        await _close_quietly(websocket, SLOW_CLIENT, "too slow: reconnect with since=<last seq>")
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away mid-send
    finally:
        watcher.cancel()


def open_streams(ocma: Ocma, key_id: str) -> int:
    """Streams (sockets and SSE) the key holds open on this process (for tests and metrics)."""
    return stream_slots.open_streams(ocma, key_id)


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code, reason)
    except Exception:  # already gone
        pass
