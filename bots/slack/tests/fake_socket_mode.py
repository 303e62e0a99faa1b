"""Slack's Socket Mode end on loopback (https://docs.slack.dev/apis/events-api/using-socket-mode).

The app calls `apps.connections.open` with its app-level token (the fake Web API hands out `url()`), opens a
WebSocket to that one-time URL, and receives `hello`; Slack then sends envelopes
`{"envelope_id", "type": "events_api"|"slash_commands"|"interactive", "accepts_response_payload", "payload",
"retry_attempt", "retry_reason"}`, and the app acknowledges each with `{"envelope_id": ..., "payload"?: ...}`.
This server plays Slack's side with aiohttp's WebSocket server on its own thread and records every ack.

Slack also ends connections: routinely every few hours with `{"type": "disconnect", "reason": "warning"}` about
10 s ahead, then `{"type": "disconnect", "reason": "refresh_requested"}` and a close (the app must call
apps.connections.open again for a new URL); with `"reason": "link_disabled"` when Socket Mode was turned off for
the app; or the connection just drops, or goes quiet (a half-open TCP connection: nothing arrives, pings are not
answered). `disconnect()`, `drop()` and `silence()` play these.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from typing import Any, Self

from aiohttp import WSMsgType, web

APP_ID = "A0TEST"


class FakeSocketMode:
    """One-time WebSocket URLs, a `hello` per connection, envelopes pushed on demand, acks recorded."""

    def __init__(self) -> None:
        self.tickets: dict[str, bool] = {}  # ticket -> used
        self.acks: list[dict[str, Any]] = []
        self.hellos = 0
        self.refused = 0  # connection attempts with an unknown or already used URL
        self._sockets: list[web.WebSocketResponse] = []
        self._transports: dict[int, asyncio.Transport] = {}
        self._silent: set[int] = set()  # connections that no longer answer pings
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-socket-mode")
        self._runner: web.AppRunner | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def url(self) -> str:
        """A new one-time WebSocket URL, as apps.connections.open returns it."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self.tickets[ticket] = False
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def send(self, envelope: dict[str, Any]) -> str:
        """Push an envelope to the newest open connection; returns its envelope_id."""
        ws = self._newest()
        asyncio.run_coroutine_threadsafe(ws.send_str(json.dumps(envelope)), self._loop).result(5)
        return str(envelope["envelope_id"])

    def _newest(self) -> web.WebSocketResponse:
        with self._lock:
            open_sockets = [ws for ws in self._sockets if not ws.closed and id(ws) not in self._silent]
        assert open_sockets, "no Socket Mode connection is open"
        return open_sockets[-1]

    def disconnect(self, reason: str, close: bool = True) -> None:
        """Send Slack's `disconnect` message on the newest connection, then (by default) close it."""
        ws = self._newest()
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        asyncio.run_coroutine_threadsafe(ws.send_str(json.dumps(message)), self._loop).result(5)
        if close:
            asyncio.run_coroutine_threadsafe(ws.close(), self._loop).result(5)

    def drop(self, abort: bool = False) -> None:
        """End the newest connection without a message: a WebSocket close, or (abort) the TCP connection cut."""
        ws = self._newest()
        if abort:
            transport = self._transports[id(ws)]
            self._loop.call_soon_threadsafe(transport.abort)
        else:
            asyncio.run_coroutine_threadsafe(ws.close(), self._loop).result(5)

    def silence(self) -> None:
        """The newest connection goes quiet: it stays open but answers no more pings (a half-open connection)."""
        ws = self._newest()
        with self._lock:
            self._silent.add(id(ws))

    def open_connections(self) -> int:
        """How many connections are open on the server's side."""
        with self._lock:
            return sum(1 for ws in self._sockets if not ws.closed)

    def wait_connected(self, count: int = 1, timeout: float = 60.0) -> None:
        """Wait until `count` connections have been greeted with `hello`."""
        self._wait(lambda: self.hellos >= count, timeout, f"{count} Socket Mode connection(s)")

    def wait_ack(self, envelope_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope."""
        found: list[dict[str, Any]] = []

        def acked() -> bool:
            with self._lock:
                found[:] = [a for a in self.acks if a.get("envelope_id") == envelope_id]
            return bool(found)

        self._wait(acked, timeout, f"the ack of envelope {envelope_id}")
        return found[0]

    def _wait(self, check: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._connect)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for ws in sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            valid = self.tickets.get(ticket) is False
            if valid:
                self.tickets[ticket] = True  # a URL works once
        if not valid:
            with self._lock:
                self.refused += 1
            return web.Response(status=401, text="invalid or used ticket")
        ws = web.WebSocketResponse(autoping=False)  # pings are answered below, as Slack does, until silence()
        await ws.prepare(request)
        with self._lock:
            self._sockets.append(ws)
            if request.transport is not None:
                self._transports[id(ws)] = request.transport
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": self.open_connections(),
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        with self._lock:
            self.hellos += 1
        async for message in ws:
            with self._lock:
                silent = id(ws) in self._silent
            if silent:
                continue  # nothing gets through a half-open connection
            if message.type == WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if isinstance(data, dict) and "envelope_id" in data:
                    with self._lock:
                        self.acks.append(data)
        return ws
