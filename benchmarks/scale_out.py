"""Scale out: publishing throughput with 1, 2 and 4 worker processes against a fast loopback platform.

Real PostgreSQL and Redis, FakeSocial in its own process answering at once (BENCH_LATENCY, default 0 s),
50 accounts (so per-account budgets never pace the run). For each worker count: a fresh database, the workers
started and polling, then BENCH_POSTS targets (default 1,500) come due at the same instant; throughput is
posts / (last published_at - due time). To tell which part is the bottleneck, the run also reports the CPU
seconds spent by the workers, the platform fake and PostgreSQL's processes while it published (from /proc),
and the machine's core count: when their sum approaches cores x seconds, the machine is the limit.

Run: .venv/bin/python benchmarks/scale_out.py
One line per worker count: workers= per_s= ratio_to_one= (then the CPU figures)
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import _harness as h

from ocma_core.db.types import utcnow

POSTS = int(os.environ.get("BENCH_POSTS", "1500"))
LATENCY = float(os.environ.get("BENCH_LATENCY", "0"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
COUNTS = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2,4").split(",")]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes (and their waited-for children) in `pids`."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(v) for v in fields[11:15]) / TICK  # utime stime cutime cstime
    return total


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(v) for v in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def postgres_pids() -> list[int]:
    """Every process named postgres (the server and its backends)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,comm="], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1].startswith("postgres")]


def run(workers: int) -> tuple[float, dict[str, float], float]:
    """Publish POSTS targets with `workers` processes: (posts per second, CPU seconds by part, wall seconds)."""
    with h.bench_env(accounts=50, latency_s=LATENCY) as bench:
        proc = h.start_worker(bench, processes=workers, concurrency=CONCURRENCY)
        h.wait_for_workers(bench, workers, timeout=120)
        due = utcnow() + timedelta(seconds=2)
        parts = {
            "workers": lambda: descendants(proc.pid),
            "fake": lambda: [bench.fake.proc.pid],
            "postgres": postgres_pids,
        }
        before = {name: cpu_seconds(pids()) for name, pids in parts.items()}
        wall = time.monotonic()
        h.insert_targets(bench, [due] * POSTS, f"scale{workers}")
        deadline = time.monotonic() + 600
        rows: list[tuple] = []  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            rows = h.published(bench, f"scale{workers}")
            if len(rows) >= POSTS:
                break
            time.sleep(0.2)
        wall = time.monotonic() - wall
        spent = {name: cpu_seconds(pids()) - before[name] for name, pids in parts.items()}
        if len(rows) < POSTS:
            raise SystemExit(
                f"only {len(rows)} of {POSTS} published with {workers} workers: {h.count_status(bench)}"
            )
        stats = bench.fake.stats()
        assert stats["duplicates"] == 0, stats
        last = max(published for _, published in rows)
        return POSTS / h.seconds(last - due), spent, wall


def main() -> None:
    """Run each worker count and print its line."""
    print(f"posts={POSTS} latency_s={LATENCY} concurrency={CONCURRENCY} cores={os.cpu_count()}", flush=True)
    baseline = None
    for workers in COUNTS:
        per_s, spent, wall = run(workers)
        baseline = baseline or per_s
        cpu = " ".join(f"cpu_{name}_s={value:.1f}" for name, value in spent.items())
        print(
            f"workers={workers} per_s={per_s:.0f} ratio_to_one={per_s / baseline:.2f} {cpu} wall_s={wall:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
