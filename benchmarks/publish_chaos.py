"""Chaos: 1,000 posts (every 5th a 3-part thread) while workers are SIGKILLed every 2 s, Redis is flushed once,
and the platform fails — optionally beside a CPU hog.

The fake platform answers 5% of publishes with a 5xx (not stored), 5% with a timeout AFTER storing the post,
3% with a 429, and drops 10% of thread replies after storing them (the answer never comes). Every 2 s one
random worker process is killed with SIGKILL and a new one started (the next kill waits until that one is up,
so a slow machine still has workers running). Redis is flushed once mid-run. With
BENCH_CPU_HOG=1 (or --cpu-hog) one busy-looping process per core runs beside everything.

Counted from what the platform holds and what OCMA says:
- lost: posts neither stored by the platform nor reported failed (silently gone) — must be 0;
- duplicates: texts the platform stored twice — must be 0;
- partial_threads: threads the platform holds only some parts of — must be 0;
- failed: targets OCMA gave up on visibly, with the reason (printed), reported apart from lost.

Run: .venv/bin/python benchmarks/publish_chaos.py [--cpu-hog]
Last line: posts= threads= lost= duplicates= partial_threads= failed=
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import _harness as h

POSTS = int(os.environ.get("BENCH_CHAOS_POSTS", "1000"))
THREAD_EVERY, THREAD_PARTS = 5, 3
WORKERS = 4
LEASE_ENV = {
    "OCMA_LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "WARNING"),
    "OCMA_WORKER_HEARTBEAT_S": "1",
    "OCMA_CLAIM_LEASE_S": "6",
    "OCMA_FAKESOCIAL_TIMEOUT_S": "1",
    "OCMA_PUBLISH_MAX_ATTEMPTS": "12",
}
CHAOS = {
    "p_5xx": 0.05,
    "p_timeout_after_store": 0.05,
    "p_429": 0.03,
    "p_reply_lost": 0.10,
    "timeout_s": 3.0,
    "seed": 11,
}


def _parts(i: int) -> list[str]:
    """The follow-up parts of post i (every THREAD_EVERY-th post is a thread)."""
    if i % THREAD_EVERY:
        return []
    return [f"chaos {i} part {k}/{THREAD_PARTS}" for k in range(2, THREAD_PARTS + 1)]


def _spin() -> None:
    while True:
        pass


@contextmanager
def cpu_hog(on: bool) -> Iterator[None]:
    """One busy-looping process per core while the block runs."""
    hogs = (
        [multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1)] if on else []
    )
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


def _statuses(bench: h.Bench) -> dict[int, tuple[str, str | None]]:
    """Post number -> (target status, last error)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        rows = conn.execute(
            sql("SELECT p.body, t.status, t.last_error FROM target t JOIN post p ON p.id = t.post_id")
        ).all()
    return {int(body.split()[1]): (status, error) for body, status, error in rows}


def _explain(bench: h.Bench, bodies: set[str]) -> None:
    """Print the attempt history of the posts named (to find causes)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        rows = conn.execute(
            sql(
                "SELECT p.body, a.action, a.outcome, a.error, a.worker, a.started_at "
                "FROM publishattempt a JOIN target t ON t.id = a.target_id "
                "JOIN post p ON p.id = t.post_id ORDER BY a.started_at"
            )
        ).all()
    for row in rows:
        if row[0] in bodies:
            print("attempt:", row[0], row[1], row[2], (row[3] or "")[:120], row[4][-12:], row[5].time())


def _started_since(bench: h.Bench, since: datetime) -> int:
    """Workers that wrote their first heartbeat after `since` (a replacement is up)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        return int(
            conn.execute(
                sql("SELECT count(*) FROM workerheartbeat WHERE started_at >= :t"), {"t": since}
            ).scalar()
            or 0
        )


def _run(bench: h.Bench, rng: random.Random) -> tuple[float, int, bool]:
    """Drive the chaos until every target is published or failed (or 600 s pass)."""
    for _ in range(WORKERS):
        h.start_worker(bench, 1, 32, **LEASE_ENV)
    h.wait_for_workers(bench, WORKERS)
    h.insert_targets(bench, [h.utcnow()] * POSTS, "chaos", thread_of=_parts)
    start = time.monotonic()
    kills, flushed = 0, False
    replaced_at = None  # a kill waits until the last replacement is up (a loaded machine starts them slowly)
    while time.monotonic() - start < 600:
        time.sleep(2)
        status = h.count_status(bench)
        if status.get("published", 0) + status.get("failed", 0) >= POSTS:
            break
        if replaced_at is None or _started_since(bench, replaced_at) > 0:
            alive = [p for p in bench.workers if p.poll() is None]
            victim = rng.choice(alive)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            kills += 1
            replaced_at = h.utcnow()
            h.start_worker(bench, 1, 32, **LEASE_ENV)
        if not flushed and time.monotonic() - start > 5:
            import redis

            redis.Redis.from_url(h.REDIS_URL).flushdb()
            flushed = True
        print(f"t={time.monotonic() - start:5.1f}s killed={kills} {status}", flush=True)
    return time.monotonic() - start, kills, flushed


def main() -> None:
    """Run the chaos scenario and count what the platform holds against what OCMA reports."""
    hog = os.environ.get("BENCH_CPU_HOG") == "1" or "--cpu-hog" in sys.argv[1:]
    rng = random.Random(7)  # which worker dies when: chaos, not data
    with h.bench_env(accounts=20, latency_s=0.05) as bench, cpu_hog(hog):
        bench.fake.configure(chaos=CHAOS)
        elapsed, kills, flushed = _run(bench, rng)
        status = h.count_status(bench)
        stats: dict = bench.fake.stats()  # type: ignore[type-arg]
        stored = collections.Counter(stats["texts"])
        targets = _statuses(bench)
        lost = [i for i in range(POSTS) if f"chaos {i}" not in stored and targets[i][0] != "failed"]
        failed = {i: targets[i][1] for i in range(POSTS) if targets[i][0] == "failed"}
        threads = [i for i in range(POSTS) if _parts(i)]
        partial = [
            i for i in threads if 0 < sum(1 for t in [f"chaos {i}", *_parts(i)] if t in stored) < THREAD_PARTS
        ]
        bad = {f"chaos {i}" for i in [*lost, *partial, *failed]} | set(stats.get("duplicate_texts", []))
        _explain(bench, bad)
        for text_, created, author in stats.get("duplicate_posts", []):
            print("duplicate stored:", text_, author, created)
        for i, reason in failed.items():
            print(f"failed: chaos {i}: {reason}")
        for i in partial:
            held = [t for t in [f"chaos {i}", *_parts(i)] if t in stored]
            print(f"partial thread: chaos {i}: the platform holds {held} ({targets[i][0]} in OCMA)")
        print(
            f"{POSTS} posts ({len(threads)} threads of {THREAD_PARTS}) in {elapsed:.1f} s with {kills} workers "
            f"killed, Redis flushed: {flushed}, CPU hog: {hog}; targets {status}; platform stored "
            f"{stats['posts']} posts from {stats['publish_calls']} calls, answered {stats['http_429']} 429s"
        )
    print(
        f"posts={POSTS} threads={len(threads)} lost={len(lost)} duplicates={stats['duplicates']} "
        f"partial_threads={len(partial)} failed={len(failed)}"
    )


if __name__ == "__main__":
    main()
