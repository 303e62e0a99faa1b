"""Chaos: 1,000 posts while workers are SIGKILLed every 2 s, Redis is flushed once, and the platform fails.

The fake platform answers 5% of publishes with a 5xx (not stored), 5% with a timeout AFTER storing the post,
and 3% with a 429. Every 2 s one random worker process is killed with SIGKILL and a new one started.
Redis is flushed once mid-run. `lost` (posts the platform never stored) and `duplicates` (posts it stored
twice) are counted by the platform itself: both must be 0.

Run: .venv/bin/python benchmarks/publish_chaos.py
Last line: posts= lost= duplicates=
"""

from __future__ import annotations

import os
import random
import signal
import time

import _harness as h

POSTS = int(os.environ.get("BENCH_CHAOS_POSTS", "1000"))
WORKERS = 4
LEASE_ENV = {
    "OCMA_LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "WARNING"),
    "OCMA_WORKER_HEARTBEAT_S": "1",
    "OCMA_CLAIM_LEASE_S": "6",
    "OCMA_FAKESOCIAL_TIMEOUT_S": "1",
    "OCMA_PUBLISH_MAX_ATTEMPTS": "12",
}


def _explain(bench: h.Bench, duplicates: set[str]) -> None:
    """Print the attempt history of targets that failed or were duplicated (to find causes)."""
    from sqlalchemy import text as sql

    with bench.ocma.engine.connect() as conn:
        bad = {
            row[0]
            for row in conn.execute(
                sql(
                    "SELECT p.body FROM target t JOIN post p ON p.id = t.post_id "
                    "WHERE t.status <> 'published'"
                )
            )
        }
        rows = conn.execute(
            sql(
                "SELECT p.body, a.action, a.outcome, a.error, a.worker, a.started_at "
                "FROM publishattempt a JOIN target t ON t.id = a.target_id "
                "JOIN post p ON p.id = t.post_id ORDER BY a.started_at"
            )
        ).all()
    for row in rows:
        if row[0] in bad or row[0] in duplicates:
            print("attempt:", row[0], row[1], row[2], (row[3] or "")[:120], row[4][-12:], row[5].time())


def main() -> None:
    """Run the chaos scenario and count what the platform saw."""
    rng = random.Random(7)  # which worker dies when: chaos, not data
    with h.bench_env(accounts=20, latency_s=0.05) as bench:
        bench.fake.configure(
            chaos={"p_5xx": 0.05, "p_timeout_after_store": 0.05, "p_429": 0.03, "timeout_s": 3.0, "seed": 11}
        )
        for _ in range(WORKERS):
            h.start_worker(bench, 1, 32, **LEASE_ENV)
        h.wait_for_workers(bench, WORKERS)
        h.insert_targets(bench, [h.utcnow()] * POSTS, "chaos")
        start = time.monotonic()
        kills, flushed = 0, False
        while time.monotonic() - start < 600:
            time.sleep(2)
            status = h.count_status(bench)
            done = status.get("published", 0) + status.get("failed", 0)
            if done >= POSTS:
                break
            alive = [p for p in bench.workers if p.poll() is None]
            victim = rng.choice(alive)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            kills += 1
            h.start_worker(bench, 1, 32, **LEASE_ENV)
            if not flushed and time.monotonic() - start > 5:
                import redis

                redis.Redis.from_url(h.REDIS_URL).flushdb()
                flushed = True
            print(f"t={time.monotonic() - start:5.1f}s killed={kills} {status}", flush=True)
        elapsed = time.monotonic() - start
        status = h.count_status(bench)
        stats: dict = bench.fake.stats()  # type: ignore[type-arg]
        texts = set(stats["texts"])
        _explain(bench, set(stats.get("duplicate_texts", [])))
        for text_, created, author in stats.get("duplicate_posts", []):
            print(
                "duplicate stored:",
                text_,
                author,
                __import__("datetime").datetime.fromtimestamp(created).time(),
            )
        lost = sum(1 for i in range(POSTS) if f"chaos {i}" not in texts)
        print(
            f"{POSTS} posts in {elapsed:.1f} s with {kills} workers killed, Redis flushed: {flushed}; "
            f"targets {status}; platform stored {stats['posts']} posts from {stats['publish_calls']} calls, "
            f"answered {stats['http_429']} 429s"
        )
    print(f"posts={POSTS} lost={lost} duplicates={stats['duplicates']}")


if __name__ == "__main__":
    main()
