"""Chaos: 1,000 posts and 200 three-part threads while workers are SIGKILLed every 2 s, Redis is flushed once,
and the platform fails — optionally beside a CPU hog.

The fake platform answers 5% of creates (thread replies included) with a 5xx (not stored), 5% with a timeout
AFTER storing the post, and 3% with a 429; on top of that it drops 10% of thread replies after storing them
(the answer never comes). Every 2 s one random worker process is killed with SIGKILL and a new one started
(the next kill waits until that one is up, so a slow machine still has workers running). Redis is flushed
once mid-run. With --cpu-hog (or BENCH_CPU_HOG=1) one busy-looping process per core runs beside everything.

Counted from what the platform holds and what OCMA says:
- lost: posts or threads neither stored by the platform nor reported failed (silently gone) — must be 0;
- duplicates: texts the platform stored twice — must be 0;
- partial_threads: threads the platform holds only some parts of — must be 0;
- failed: targets OCMA gave up on visibly, each printed with its reason, reported apart from lost.

Run: .venv/bin/python benchmarks/publish_chaos.py [--cpu-hog]   (BENCH_CHAOS_POSTS, BENCH_CHAOS_THREADS)
Last line: posts= threads= lost= duplicates= partial_threads= failed=
"""

from __future__ import annotations

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
THREADS = int(os.environ.get("BENCH_CHAOS_THREADS", "200"))
PARTS = 3
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


def _thread_texts(i: int) -> list[str]:
    return [f"chaos-thread {i}", *(f"chaos-thread {i} part {k}" for k in range(2, PARTS + 1))]


def _targets(bench: h.Bench) -> dict[str, tuple[str, str | None]]:
    """Post body (its first part) -> (target status, last error)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        rows = conn.execute(
            sql("SELECT p.body, t.status, t.last_error FROM target t JOIN post p ON p.id = t.post_id")
        ).all()
    return {body: (status, error) for body, status, error in rows}


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


def _continued(bench: h.Bench) -> int:
    """Threads the engine finished with continue_thread (their replies were dropped or failed)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        query = "SELECT COUNT(DISTINCT target_id) FROM publishattempt WHERE action = 'continue_thread'"
        return int(conn.execute(sql(query)).scalar_one())


def _started_since(bench: h.Bench, since: datetime) -> int:
    """Workers that wrote their first heartbeat after `since` (a replacement is up)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        query = "SELECT count(*) FROM workerheartbeat WHERE started_at >= :t"
        return int(conn.execute(sql(query), {"t": since}).scalar() or 0)


def _run(bench: h.Bench, rng: random.Random) -> tuple[float, int, bool]:
    """Drive the chaos until every target is published or failed (or 600 s pass)."""
    for _ in range(WORKERS):
        h.start_worker(bench, 1, 32, **LEASE_ENV)
    h.wait_for_workers(bench, WORKERS)
    h.insert_targets(bench, [h.utcnow()] * POSTS, "chaos")
    h.insert_targets(bench, [h.utcnow()] * THREADS, "chaos-thread", thread_parts=PARTS)
    start = time.monotonic()
    kills, flushed = 0, False
    replaced_at: datetime | None = None
    while time.monotonic() - start < 600:
        time.sleep(2)
        status = h.count_status(bench)
        if status.get("published", 0) + status.get("failed", 0) >= POSTS + THREADS:
            break
        if replaced_at is None or _started_since(bench, replaced_at) > 0:
            victim = rng.choice([p for p in bench.workers if p.poll() is None])
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
        texts = set(stats["texts"])
        targets = _targets(bench)
        failed = {body: error for body, (state, error) in targets.items() if state == "failed"}
        lost_posts = [f"chaos {i}" for i in range(POSTS) if f"chaos {i}" not in texts]
        held = {f"chaos-thread {i}": sum(t in texts for t in _thread_texts(i)) for i in range(THREADS)}
        lost = [b for b in lost_posts + [b for b, n in held.items() if n == 0] if b not in failed]
        partial = [b for b, n in held.items() if 0 < n < PARTS]
        _explain(bench, {*lost, *partial, *failed, *stats.get("duplicate_texts", [])})
        for text_, created, author in stats.get("duplicate_posts", []):
            print("duplicate stored:", text_, author, datetime.fromtimestamp(created).time())
        for body, reason in failed.items():
            print(f"failed: {body}: {reason}")
        for body in partial:
            print(
                f"partial thread: {body}: {held[body]} of {PARTS} parts on the platform ({targets[body][0]})"
            )
        print(
            f"{POSTS} posts and {THREADS} threads in {elapsed:.1f} s with {kills} workers killed, Redis flushed: "
            f"{flushed}, CPU hog: {hog}; targets {status}; platform stored {stats['posts']} posts from "
            f"{stats['publish_calls']} calls, answered {stats['http_429']} 429s; {_continued(bench)} threads "
            "continued after a lost or failed reply"
        )
    print(
        f"posts={POSTS} threads={THREADS} lost={len(lost)} duplicates={stats['duplicates']} "
        f"partial_threads={len(partial)} failed={len(failed)}"
    )


if __name__ == "__main__":
    main()
