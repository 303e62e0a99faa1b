"""Capacity and punctuality of publishing, with raw rq and a plain asyncio+httpx loop as baselines.

Real PostgreSQL and Redis, the FakeSocial platform answering after 100 ms, 50 accounts, `ocma worker`
with the settings recommended for a 2-core machine (2 processes x 64 in flight).
(a) Burst: 2,000 targets due at the same instant: throughput and the lateness of the last one.
    Baselines in the same run: raw rq jobs making the same single POST (same worker count), and the I/O
    ceiling: asyncio + httpx sending 2,000 POSTs with 64 in flight.
(b) Steady: for 60 s, targets come due at half the burst throughput: lateness p50 / p99 / max.

Run: .venv/bin/python benchmarks/publish_on_time.py
Last line: per_s= rq_per_s= io_per_s= steady_p50_s= steady_p99_s= steady_max_s=
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import _harness as h
import httpx

PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
BURST = int(os.environ.get("BENCH_BURST", "2000"))
RQ_JOBS = int(os.environ.get("BENCH_RQ_JOBS", "300"))
STEADY_S = float(os.environ.get("BENCH_STEADY_S", "60"))
LATENCY = 0.1


def wait_published(bench: h.Bench, label: str, count: int, timeout: float) -> list[tuple]:  # type: ignore[type-arg]
    """Poll until `count` targets of `label` are published."""
    deadline = time.monotonic() + timeout
    rows: list[tuple] = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        rows = h.published(bench, label)
        if len(rows) >= count:
            break
        time.sleep(0.25)
    return rows


def burst(bench: h.Bench) -> tuple[float, float]:
    """2,000 targets due at one instant; returns (posts per second, lateness of the last)."""
    due = h.utcnow() + timedelta(seconds=8)
    h.insert_targets(bench, [due] * BURST, "burst")
    assert h.utcnow() < due, "inserting took longer than the lead time"
    rows = wait_published(bench, "burst", BURST, timeout=300)
    if len(rows) < BURST:
        raise SystemExit(f"only {len(rows)} of {BURST} burst targets published: {h.count_status(bench)}")
    last = max(p for _, p in rows)
    span = h.seconds(last - due)
    return BURST / span, span


def steady(bench: h.Bench, rate: float) -> list[float]:
    """Targets due at `rate` per second for STEADY_S seconds; returns each one's lateness."""
    start = h.utcnow() + timedelta(seconds=15)
    count = int(rate * STEADY_S)
    due = [start + timedelta(seconds=i / rate) for i in range(count)]
    h.insert_targets(bench, due, "steady")
    assert h.utcnow() < start, "inserting took longer than the lead time"
    rows = wait_published(bench, "steady", count, timeout=STEADY_S + 120)
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} of {count} steady targets published: {h.count_status(bench)}")
    return [h.seconds(p - d) for d, p in rows]


def rq_baseline(bench: h.Bench) -> float:
    """RQ_JOBS raw rq jobs, each the same POST, on PROCESSES `rq worker` processes; jobs per second."""
    import redis
    from rq import Queue
    from rq.job import Job

    conn = redis.Redis.from_url(h.REDIS_URL)
    queue = Queue("bench_raw", connection=conn)
    jobs = [
        queue.enqueue(
            "rq_job.post_once",
            bench.fake.base_url,
            f"bench-token-{i % len(bench.accounts)}",
            f"rq {i}",
            result_ttl=600,
        )
        for i in range(RQ_JOBS)
    ]
    env = {**bench.env, "PYTHONPATH": str(Path(__file__).parent)}
    rq_bin = str(Path(sys.executable).parent / "rq")
    procs = [
        subprocess.Popen(
            [rq_bin, "worker", "--burst", "--url", h.REDIS_URL, "bench_raw"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.wait(timeout=600)
    fetched = Job.fetch_many([j.id for j in jobs], connection=conn)
    finished = [j for j in fetched if j is not None and j.is_finished]
    if len(finished) < RQ_JOBS:
        raise SystemExit(f"rq baseline: only {len(finished)} of {RQ_JOBS} jobs finished")
    first = min(j.started_at for j in finished if j.started_at)
    last = max(j.ended_at for j in finished if j.ended_at)
    return RQ_JOBS / (last - first).total_seconds()


async def io_ceiling(base_url: str, tokens: list[str], count: int, in_flight: int = 64) -> float:
    """Plain asyncio + httpx: `count` POSTs with `in_flight` at a time; posts per second."""
    semaphore = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(
                    f"{base_url}/v1/posts",
                    json={"text": f"io {i}"},
                    headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
                )
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - start)


def main() -> None:
    """Run the three measurements and the two scenarios."""
    with h.bench_env(accounts=50, latency_s=LATENCY) as bench:
        tokens = [f"bench-token-{i}" for i in range(50)]
        io_per_s = asyncio.run(io_ceiling(bench.fake.base_url, tokens, BURST))
        print(f"I/O ceiling (asyncio+httpx, 64 in flight): {io_per_s:.1f} posts/s", flush=True)
        rq_per_s = rq_baseline(bench)
        print(f"raw rq ({PROCESSES} workers, {RQ_JOBS} jobs): {rq_per_s:.1f} posts/s", flush=True)
        h.start_worker(bench, PROCESSES, CONCURRENCY)
        h.wait_for_workers(bench, PROCESSES)
        per_s, last_late = burst(bench)
        print(
            f"OCMA burst: {BURST} targets in {last_late:.2f} s -> {per_s:.1f} posts/s; "
            f"ratio to rq {per_s / rq_per_s:.2f} (goal >= 0.8), to I/O ceiling {per_s / io_per_s:.2f} "
            f"(goal >= 0.25)",
            flush=True,
        )
        lateness = steady(bench, per_s / 2)
        p50, p99, worst = h.quantile(lateness, 0.5), h.quantile(lateness, 0.99), max(lateness)
        print(
            f"OCMA steady: {len(lateness)} targets at {per_s / 2:.1f}/s for {STEADY_S:.0f} s; lateness "
            f"p50 {p50:.3f} s, p99 {p99:.3f} s (goal <= 1), max {worst:.3f} s (goal <= 3); "
            f"includes the platform's {LATENCY:.1f} s answer time",
            flush=True,
        )
        stats: dict = bench.fake.stats()  # type: ignore[type-arg]
        print(
            f"fake platform: {stats['posts']} posts stored, duplicates {stats['duplicates']}, 429s {stats['http_429']}"
        )
    print(
        f"per_s={per_s:.1f} rq_per_s={rq_per_s:.1f} io_per_s={io_per_s:.1f} steady_p50_s={p50:.3f} "
        f"steady_p99_s={p99:.3f} steady_max_s={worst:.3f}"
    )


if __name__ == "__main__":
    main()
