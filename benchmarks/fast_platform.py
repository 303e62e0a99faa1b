"""A fast FakeSocial for capacity benchmarks: raw asyncio HTTP/1.1 with keep-alive, one configurable answer time.

It answers what the engine's hot path sends (POST /v1/posts) and the benchmark's own look-ups
(GET /_fake/stats, POST /_fake/reset). Any bearer token is accepted. It counts posts and duplicates (by text),
so a benchmark can check "exactly once" without asking the database while it measures.

Run: python benchmarks/fast_platform.py --port 9000 --latency 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter, deque

_STATUS = {200: b"OK", 201: b"Created", 404: b"Not Found", 400: b"Bad Request"}


class Store:
    """What the platform saw."""

    def __init__(self) -> None:
        self.texts: Counter[str] = Counter()
        self.next_id = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def add(self, text: str) -> str:
        """Store one post; returns its id."""
        self.next_id += 1
        self.texts[text] += 1
        now = time.time()
        self.first_at = self.first_at or now
        self.last_at = now
        return str(self.next_id)

    def stats(self) -> dict[str, object]:
        """Posts stored, duplicates by text, first and last post time (unix seconds)."""
        return {
            "posts": sum(self.texts.values()),
            "duplicates": sum(n - 1 for n in self.texts.values() if n > 1),
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


class HttpProtocol(asyncio.Protocol):
    """One keep-alive connection; requests are answered in order, each after the configured latency."""

    def __init__(self, store: Store, latency: float) -> None:
        self.store, self.latency = store, latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.ready: deque[list[bytes | None]] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Parse every complete request in the buffer."""
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            method, path = head.split(" ", 2)[:2]
            self._handle(method, path, body)

    def _handle(self, method: str, path: str, body: bytes) -> None:
        slot: list[bytes | None] = [None]
        self.ready.append(slot)
        if method == "POST" and path.startswith("/v1/posts"):
            text = str(json.loads(body or b"{}").get("text", ""))
            post_id = self.store.add(text)
            answer = (201, {"id": post_id, "url": f"https://fakesocial.test/p/{post_id}"})
            delay = self.latency
        elif path.startswith("/_fake/stats"):
            answer, delay = (200, self.store.stats()), 0.0
        elif path.startswith("/_fake/reset"):
            self.store.__init__()  # type: ignore[misc]
            answer, delay = (200, {"ok": True}), 0.0
        else:
            answer, delay = (404, {"error": "not_found"}), 0.0
        payload = json.dumps(answer[1]).encode()
        response = (
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
            % (answer[0], _STATUS[answer[0]], len(payload))
        ) + payload
        asyncio.get_running_loop().call_later(delay, self._ready, slot, response)

    def _ready(self, slot: list[bytes | None], response: bytes) -> None:
        slot[0] = response
        while self.ready and self.ready[0][0] is not None:  # HTTP/1.1: answers leave in request order
            out = self.ready.popleft()[0]
            assert out is not None and self.transport is not None
            if not self.transport.is_closing():
                self.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        """Nothing to clean up."""


async def serve(port: int, latency: float) -> None:
    """Serve forever on 127.0.0.1:port."""
    store = Store()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(store, latency), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse --port and --latency, then serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency))


if __name__ == "__main__":
    main()
