"""Slack's Socket Mode end on loopback (https://docs.slack.dev/apis/events-api/using-socket-mode).

The app calls `apps.connections.open` with its app-level token (the fake Web API hands out `url()`), opens a
WebSocket to that one-time URL, and receives `hello`; Slack then sends envelopes
`{"envelope_id", "type": "events_api"|"slash_commands"|"interactive", "accepts_response_payload", "payload",
"retry_attempt", "retry_reason"}`, and the app acknowledges each with `{"envelope_id": ..., "payload"?: ...}`.
This server plays Slack's side with aiohttp's WebSocket server on its own thread and records every ack.
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
        self._sockets: list[web.WebSocketResponse] = []
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
        with self._lock:
            open_sockets = [ws for ws in self._sockets if not ws.closed]
        assert open_sockets, "no Socket Mode connection is open"
        future = asyncio.run_coroutine_threadsafe(open_sockets[-1].send_str(json.dumps(envelope)), self._loop)
        future.result(5)
        return str(envelope["envelope_id"])

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `count` connections have been greeted with `hello`."""
        self._wait(lambda: self.hellos >= count, timeout, f"{count} Socket Mode connection(s)")

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
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
            return web.Response(status=401, text="invalid or used ticket")
        ws = web.WebSocketResponse()  # answers pings with pongs, as Slack does
        await ws.prepare(request)
        with self._lock:
            self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
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
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if isinstance(data, dict) and "envelope_id" in data:
                    with self._lock:
                        self.acks.append(data)
        return ws
