"""The subscribers of benchmarks/stream_fanout.py, in their own process (the benchmark starts several, so the
clients are not the bottleneck): N WebSocket clients of /v1/stream, or (the ceiling) N raw Redis pub/sub
subscribers. Prints `ready` once all are connected, then one JSON line with what they received: a latency
histogram (receive wall time minus the event's `t`, in 0.1 ms buckets, so processes can be merged), counts,
and the first and last receive times. The WebSocket clients are RawClient, a minimal one that offers
permessage-deflate as browsers do, and the event's `t` is cut out of the text rather than parsing the whole
JSON: on a machine of 2 cores the clients' CPU is the server's too."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit


def percentiles(histogram: dict[int, int]) -> dict[str, float]:
    """p50, p99 and max in ms of a histogram of 0.1 ms buckets."""
    total = sum(histogram.values())
    found = {"p50_ms": -1.0, "p99_ms": -1.0, "max_ms": -1.0}
    if not total:
        return found
    seen, wanted = 0, [("p50_ms", 0.50 * total), ("p99_ms", 0.99 * total)]
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        while wanted and seen >= wanted[0][1]:
            found[wanted.pop(0)[0]] = bucket / 10
        found["max_ms"] = bucket / 10
    return found


def _t_of(text: bytes) -> float | None:
    """The `t` of an event's data, cut out of the message (None for other messages)."""
    at = text.find(b'"t":')
    if at < 0:
        return None
    end = at + 4
    while end < len(text) and text[end] not in b",}":
        end += 1
    return float(text[at + 4 : end])


class RawClient(asyncio.Protocol):
    """A minimal WebSocket client (RFC 6455): the upgrade, then frames parsed in place, pings answered,
    permessage-deflate offered as browsers do and inflated if the server takes it. A Python client built on
    a full library costs more CPU per message than the server under test; this one costs a few microseconds."""

    def __init__(
        self,
        url: SplitResult,
        key: str,
        on_text: Callable[[bytes], None],
        opened: asyncio.Future[None],
        closed: asyncio.Future[str],
    ) -> None:
        self.url, self.key, self.on_text, self.opened, self.closed = url, key, on_text, opened, closed
        self.buf = bytearray()
        self.upgraded = False
        self.inflate: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        auth = f"Authorization: Bearer {self.key}\r\n" if self.key else ""
        transport.write(
            (
                f"GET /v1/stream?kinds=bench.tick HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n{auth}\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.opened, self.closed):
            if not future.done():
                future.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            del buf[: end + 4]
            if not head.startswith(b"http/1.1 101"):
                self.opened.set_exception(ConnectionError(head[:200].decode()))
                return
            if b"permessage-deflate" in head:
                self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            self.upgraded = True
            self.opened.set_result(None)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            first, length, head_len = buf[pos], buf[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head_len = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head_len = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head_len + length:
                break
            payload = bytes(buf[pos + head_len : pos + head_len + length])
            pos += head_len + length
            self._frame(first, payload)
        del buf[:pos]

    def _frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if opcode == 1:
            if first & 0x40 and self.inflate is not None:  # RSV1: a compressed message
                payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
            self.on_text(payload)
        elif opcode == 9:  # ping: pong with the same payload (masked with a zero key, as a client must mask)
            self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        elif opcode == 8 and not self.closed.done():
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.closed.set_result(f"closed {code}: {payload[2:].decode(errors='replace')}")


def _summary(histogram: dict[int, int], counts: list[int], first: float, last: float) -> dict[str, Any]:
    return {
        "received": sum(histogram.values()),
        "min_per_client": min(counts) if counts else 0,
        "histogram": {str(k): v for k, v in histogram.items()},
        **percentiles(histogram),
        "first": first,
        "last": last,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Connect every subscriber, say ready, collect until each has `expect` events or the deadline passes."""
    histogram: dict[int, int] = {}
    counts = [0] * args.clients
    times = {"first": float("inf"), "last": 0.0}
    connected = asyncio.Event()
    ready = 0

    def got(i: int, sent_at: float) -> None:
        now = time.time()
        bucket = max(0, int((now - sent_at) * 10000))
        histogram[bucket] = histogram.get(bucket, 0) + 1
        counts[i] += 1
        times["first"] = min(times["first"], now)
        times["last"] = max(times["last"], now)

    async def ws_client(i: int, gate: asyncio.Semaphore) -> None:
        nonlocal ready
        loop = asyncio.get_running_loop()
        url = urlsplit(args.url)
        opened: asyncio.Future[None] = loop.create_future()
        closed: asyncio.Future[str] = loop.create_future()

        def on_text(payload: bytes) -> None:
            sent_at = _t_of(payload)
            if sent_at is not None:
                got(i, sent_at)
                if counts[i] >= args.expect and not closed.done():
                    closed.set_result("")

        async with gate:
            transport, _ = await loop.create_connection(
                lambda: RawClient(url, args.key, on_text, opened, closed), url.hostname, url.port
            )
            await opened
        ready += 1
        if ready == args.clients:
            connected.set()
        try:
            why = await closed
        finally:
            transport.close()
        if why:
            raise ConnectionError(why)

    async def redis_client(i: int, gate: asyncio.Semaphore) -> None:
        nonlocal ready
        import redis.asyncio as aioredis

        async with gate:
            client = aioredis.Redis.from_url(args.url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(args.channel)
        ready += 1
        if ready == args.clients:
            connected.set()
        try:
            while counts[i] < args.expect:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    got(i, json.loads(message["data"])["t"])
        finally:
            await pubsub.aclose()
            await client.aclose()

    gate = asyncio.Semaphore(50)  # connect 50 at a time (the listen backlog)
    make = ws_client if args.mode == "ws" else redis_client
    tasks = [asyncio.create_task(make(i, gate)) for i in range(args.clients)]
    await connected.wait()
    print("ready", flush=True)
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for task in pending:
        task.cancel()
    errors = [repr(t.exception())[:200] for t in done if t.exception() is not None]
    summary = _summary(histogram, counts, times["first"], times["last"])
    return {**summary, "errors": len(errors), "error": errors[0] if errors else ""}


def main() -> None:
    """Parse arguments, run, print the JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["ws", "redis"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--channel", default="bench")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--deadline", type=float, required=True)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
