"""The bare WebSocket ceiling of benchmarks/stream_fanout.py: a minimal `websockets` server that relays each
message of a Redis channel to every connected client with websockets.broadcast (no database, no auth, no
framework). Prints `ready` once subscribed."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


async def serve_forever(port: int, redis_url: str, channel: str) -> None:
    """Accept clients on `port`; broadcast every message of `channel` to them as a stream event."""
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve

    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    # No permessage-deflate, as `ocma serve` (it would compress every message once per client).
    async with serve(handler, "127.0.0.1", port, backlog=2048, compression=None):
        pubsub = aioredis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        print("ready", flush=True)
        async for message in pubsub.listen():
            broadcast(clients, '{"type":"event","data":' + message["data"].decode() + "}")


def main() -> None:
    """Parse arguments and serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", default="bench-bare")
    args = parser.parse_args()
    asyncio.run(serve_forever(args.port, args.redis, args.channel))


if __name__ == "__main__":
    main()
