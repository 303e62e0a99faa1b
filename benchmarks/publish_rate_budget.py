"""Rate budget: one account whose platform allows 20 posts per 10 s window, a backlog of 100 posts.

Goal: zero 429s and at least 90% of the allowed rate. The engine learns the budget from the platform's
x-ratelimit-* headers (it is not told the limit), shares it between worker processes through Redis, and
waits for the window's reset instead of provoking 429s.

Achieved rate = posts published during the first 4 full windows after the first post, divided by 40 s
(the allowed rate is 20 / 10 s = 2.0 posts/s); the baseline is the platform's own allowance.

Run: .venv/bin/python benchmarks/publish_rate_budget.py
Last line: allowed_per_s= achieved_per_s= ratio= http_429=
"""

from __future__ import annotations

import time

import _harness as h

LIMIT, WINDOW, BACKLOG = 20, 10.0, 100


def main() -> None:
    """Run the backlog through `ocma worker` and count."""
    with h.bench_env(accounts=1, latency_s=0.05, rate_limit=LIMIT, rate_window_s=WINDOW) as bench:
        h.start_worker(bench, 2, 64)
        h.wait_for_workers(bench, 2)
        h.insert_targets(bench, [h.utcnow()] * BACKLOG, "budget")
        deadline = time.monotonic() + 120
        rows = []
        while time.monotonic() < deadline:
            rows = h.published(bench, "budget")
            if len(rows) >= BACKLOG:
                break
            time.sleep(0.25)
        stats = bench.fake.stats()
        times = sorted(p for _, p in rows)
        if len(times) < BACKLOG:
            raise SystemExit(f"only {len(times)} of {BACKLOG} published: {h.count_status(bench)}")
        span = 4 * WINDOW
        in_span = sum(1 for t in times if h.seconds(t - times[0]) < span)
        allowed = LIMIT / WINDOW
        achieved = in_span / span
        total = h.seconds(times[-1] - times[0])
        print(
            f"{BACKLOG} posts published in {total:.1f} s; {in_span} in the first {span:.0f} s "
            f"-> {achieved:.2f} posts/s of {allowed:.2f} allowed; 429s answered by the platform: "
            f"{stats['http_429']}; duplicates {stats['duplicates']}"
        )
    print(
        f"allowed_per_s={allowed:.2f} achieved_per_s={achieved:.2f} ratio={achieved / allowed:.2f} "
        f"http_429={stats['http_429']}"
    )


if __name__ == "__main__":
    main()
