"""CPU per request of the client OCMA's platforms use, beside its baseline and its ceiling, in one run.

  httpx    httpx.AsyncClient with its own transport (httpcore on anyio): what platform calls used before
  ocma     the guarded client platforms use now (httpx API over aiohttp, ocma_core/net/aio.py)
  aiohttp  aiohttp.ClientSession alone: the ceiling for the transport

Each sends BENCH_REQUESTS POSTs (BENCH_IN_FLIGHT at a time) to benchmarks/fast_platform.py (own process, no
answer delay), in a fresh process per client and run, BENCH_RUNS runs each. CPU is the client process's own
user + system time per request, which a shared machine disturbs much less than wall time.

Run: .venv/bin/python benchmarks/http_client_cpu.py
Last line: httpx_cpu_ms= ocma_cpu_ms= aiohttp_cpu_ms= ocma_vs_httpx= (medians)
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", "32"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
KINDS = ("httpx", "ocma", "aiohttp")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(one: Callable[[int], Awaitable[None]]) -> float:
    """CPU ms per request over REQUESTS requests, after a warm-up that opens the connections."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def limited(i: int) -> None:
        async with gate:
            await one(i)

    await asyncio.gather(*(limited(i) for i in range(IN_FLIGHT * 4)))
    start = _cpu()
    await asyncio.gather(*(limited(i) for i in range(REQUESTS)))
    return (_cpu() - start) / REQUESTS * 1000


async def _client_run(kind: str, base_url: str) -> float:
    url, headers = f"{base_url}/v1/posts", {"Authorization": "Bearer bench"}
    if kind == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as session:

            async def raw(i: int) -> None:
                async with session.post(url, json={"text": f"a{i}"}, headers=headers) as response:
                    await response.json()

            return await _measure(raw)
    import httpx

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    if kind == "ocma":
        from ocma_core.net import guarded_async_client

        client = guarded_async_client(allow_private=True, limits=limits)
    else:
        client = httpx.AsyncClient(limits=limits)
    async with client:

        async def one(i: int) -> None:
            (await client.post(url, json={"text": f"{kind}{i}"}, headers=headers)).json()

        return await _measure(one)


def main() -> None:
    """Start the platform, run every client RUNS times in fresh processes, print the medians."""
    here = Path(__file__).parent
    port = 47000 + os.getpid() % 1000
    server = subprocess.Popen([sys.executable, str(here / "fast_platform.py"), "--port", str(port)])
    try:
        time.sleep(1.0)
        results: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(RUNS):
            for kind in KINDS:
                out = subprocess.run(
                    [sys.executable, __file__, "client", kind, f"http://127.0.0.1:{port}"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[kind].append(float(out.stdout.strip()))
        for kind, values in results.items():
            print(
                f"{kind}: cpu ms per request min {min(values):.3f} median {statistics.median(values):.3f} "
                f"max {max(values):.3f}"
            )
        med = {kind: statistics.median(values) for kind, values in results.items()}
        print(
            f"httpx_cpu_ms={med['httpx']:.3f} ocma_cpu_ms={med['ocma']:.3f} aiohttp_cpu_ms={med['aiohttp']:.3f} "
            f"ocma_vs_httpx={med['ocma'] / med['httpx']:.2f}"
        )
    finally:
        server.terminate()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        print(f"{asyncio.run(_client_run(sys.argv[2], sys.argv[3])):.4f}")
    else:
        main()
