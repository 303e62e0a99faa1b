"""The subscribers of benchmarks/stream_fanout.py, in their own process: N WebSocket clients of /v1/stream,
or (the ceiling) N raw Redis pub/sub subscribers. Prints `ready` once all are connected, then one JSON line
with what they received: latency percentiles (receive wall time minus the event's `t`), counts, and the
first and last receive times."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any


def _latencies_summary(
    latencies: list[float], counts: list[int], first: float, last: float
) -> dict[str, Any]:
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else -1.0

    return {
        "received": len(latencies),
        "min_per_client": min(counts) if counts else 0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else -1.0,
        "first": first,
        "last": last,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Connect every subscriber, say ready, collect until each has `expect` events or the deadline passes."""
    latencies: list[float] = []
    counts = [0] * args.clients
    times = {"first": float("inf"), "last": 0.0}
    connected = asyncio.Event()
    ready = 0

    def got(i: int, sent_at: float) -> None:
        now = time.time()
        latencies.append(now - sent_at)
        counts[i] += 1
        times["first"] = min(times["first"], now)
        times["last"] = max(times["last"], now)

    async def ws_client(i: int, gate: asyncio.Semaphore) -> None:
        nonlocal ready
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Bearer {args.key}"}
        async with gate:
            ws = await connect(
                f"{args.url}/v1/stream?kinds=bench.tick",
                additional_headers=headers,
                max_queue=None,
                ping_interval=None,
            )
        ready += 1
        if ready == args.clients:
            connected.set()
        async with ws:
            while counts[i] < args.expect:
                message = json.loads(await ws.recv())
                if message["type"] == "event":
                    got(i, message["data"]["t"])

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
    summary = _latencies_summary(latencies, counts, times["first"], times["last"])
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
