"""Capacity, cost and punctuality of publishing, beside three yardsticks measured in the same run.

Real PostgreSQL and Redis; the fast FakeSocial (benchmarks/fast_platform.py: raw asyncio, keep-alive) in its own
process, answering after BENCH_LATENCY s (0.1); BENCH_ACCOUNTS accounts (100: FakeSocial's declared budget of
300 publishes per account in 15 minutes must cover the whole run).
Yardsticks (BENCH_RUNS runs each, min/median/max), the same POST /v1/posts as the engine sends; each run of
them right before one of the engine's bursts, so a busier stretch of the machine hits both sides alike:
  raw    a hand-written asyncio HTTP/1.1 client, BENCH_CONCURRENCY connections; again with the engine's calls
         in flight (processes x cap, BENCH_BURST posts) and with rq's (its processes, as many posts as its
         jobs): each side's ceiling at its own concurrency, so engine_efficiency and rq_efficiency on the last
         line say how close each comes (per_s / rq_per_s = ratio of those ceilings x ratio of efficiencies)
  httpx  one httpx.AsyncClient at the best of BENCH_HTTPX_LEVELS in flight (16, 32, 64, 256)
  rq     a fair rq: SimpleWorker (no fork per job), job module and its keep-alive client preloaded,
         cores x BENCH_RQ_PER_CORE processes, 4 unmeasured jobs per worker first; each job only the POST (no
         database): rq's ceiling. As many rounds of calls as an engine burst (rq_jobs = BURST x rq's processes
         / the engine's calls in flight), all enqueued in one pipeline, their end seen in rq's registries
  rq_publish  the same rq workers running OCMA's own publish of a target per job (claim, call, record;
         benchmarks/rq_publish_job.py), before the engine's workers start: what "publish through rq" would achieve
Engine: BENCH_PROCESSES worker processes x BENCH_CONCURRENCY in flight, with at most BENCH_PLATFORM_CAP calls in
flight per host in each (default: the cap FakeSocial's plugin declares, 16) (counted_worker.py: `ocma worker` that
counts its round trips).
(a) Burst, after an unmeasured warm-up burst of BENCH_WARMUP targets (4 x processes x cap), BENCH_RUNS times:
    BENCH_BURST targets due at one instant; posts per second from the due time to the
    last published_at; CPU of the worker processes (from /proc) and DB round trips / Redis commands (statement
    listeners) over that window, per published post; when the first answer came in. While it runs, only the platform's counter is polled.
(b) Steady: for BENCH_STEADY_S, targets come due at BENCH_STEADY_RATE per second (default half the median
    burst rate): lateness p50 / p99 / max.

Run: OCMA_BENCH_REDIS_URL=redis://127.0.0.1:6379/N .venv/bin/python benchmarks/publish_on_time.py
Last line: per_s= raw_per_s= httpx_per_s= rq_per_s= rq_ratio_min= rq_ratio_median= rq_ratio_max= (each
burst over the rq run before it) rq_publish_per_s= rq_cpu_ms_per_job= cpu_ms_per_post=
db_round_trips_per_post= steady_p99_s= ... (rq_cpu_ms_per_job: the fair rq workers' CPU per job, measured as the
engine's cpu_ms_per_post is: from /proc, over the measured window)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import _harness as h
import yardsticks
from sqlalchemy import text

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
BURST = int(os.environ.get("BENCH_BURST", "2000"))
YARD_POSTS = int(os.environ.get("BENCH_YARD_POSTS", "1000"))
HTTPX_LEVELS = tuple(int(x) for x in os.environ.get("BENCH_HTTPX_LEVELS", "16,32,64,256").split(","))
RQ_PER_CORE = int(os.environ.get("BENCH_RQ_PER_CORE", "8"))
STEADY_S = float(os.environ.get("BENCH_STEADY_S", "60"))
STEADY_RATE = float(os.environ.get("BENCH_STEADY_RATE", "0"))
LATENCY = float(os.environ.get("BENCH_LATENCY", "0.1"))
LEAD_S = float(os.environ.get("BENCH_LEAD_S", "20"))  # inserting happens before this; not measured
YARDSTICKS = os.environ.get("BENCH_YARDSTICKS", "1") != "0"  # 0: the engine alone (yardsticks print n/a)
# FakeSocial's calls in flight per host and worker process: its plugin's own cap, or BENCH_PLATFORM_CAP (set
# through OCMA_FAKESOCIAL_MAX_CONCURRENCY, as an operator would).
DECLARED_CAP = int(__import__("ocma_example_platform").FakeSocialPlatform.max_concurrency)
CAP = int(os.environ.get("BENCH_PLATFORM_CAP") or DECLARED_CAP)
# Unmeasured first burst: the workers open their database and platform connections and fill their caches, as
# a worker that has run a while has them (rq's workers are likewise all up and idle before its first job).
WARMUP = int(os.environ.get("BENCH_WARMUP", str(4 * PROCESSES * CAP)))
# FakeSocial declares a publish budget per account (300 per 15 min) and the engine keeps to it: a run that
# publishes more than accounts x limit within the window waits for the window to reset. A full run publishes
# about 17,000 posts in 10 minutes, so it spreads them over enough accounts to stay inside the budget.
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "100"))
_PUBLISH_BUDGET = next(
    b for b in __import__("ocma_example_platform").FakeSocialPlatform.rate_budgets if b.bucket == "publish"
)


def spread(values: list[float]) -> str:
    """min / median / max."""
    return f"min {min(values):.1f}, median {statistics.median(values):.1f}, max {max(values):.1f}"


def counts(directory: Path) -> dict[str, int]:
    """The workers' round-trip counters, summed."""
    out: dict[str, int] = {}
    for path in directory.glob("*.json"):
        for key, value in json.loads(path.read_text()).items():
            out[key] = out.get(key, 0) + value
    return out


def start_workers(bench: h.Bench, count_dir: Path) -> list[subprocess.Popen[bytes]]:
    """BENCH_PROCESSES counted single-process workers."""
    env = {
        **bench.env,
        "OCMA_LOG_LEVEL": "WARNING",
        "BENCH_COUNT_DIR": str(count_dir),
        "OCMA_FAKESOCIAL_MAX_CONCURRENCY": str(CAP),
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).parent / "counted_worker.py"),
                "--concurrency",
                str(CONCURRENCY),
            ],
            env=env,
            start_new_session=True,
        )
        for _ in range(PROCESSES)
    ]
    bench.workers.extend(procs)
    h.wait_for_workers(bench, PROCESSES)
    return procs


def wait_platform(bench: h.Bench, count: int, timeout: float) -> None:
    """Poll the platform's own counter (not the database) until it has `count` posts."""
    deadline = time.monotonic() + timeout
    while int(bench.fake.stats()["posts"]) < count:  # type: ignore[call-overload]
        if time.monotonic() > deadline:
            raise SystemExit(
                f"the platform got {bench.fake.stats()['posts']} of {count}: {h.count_status(bench)}"
            )
        time.sleep(0.2)


def wait_recorded(bench: h.Bench, label: str, count: int, timeout: float = 60.0) -> None:
    """After the platform has them all: wait until the database has recorded them as published."""
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM target t JOIN post p ON p.id = t.post_id "
        "WHERE t.status = 'published' AND p.body LIKE :label"
    )
    while True:
        with bench.ocma.engine.connect() as conn:
            done = conn.execute(query, {"label": f"{label} %"}).scalar_one()
        if done >= count:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {done} of {count} {label} targets recorded: {h.count_status(bench)}")
        time.sleep(0.2)


def burst(
    bench: h.Bench, label: str, pids: list[int], count_dir: Path, size: int = BURST
) -> dict[str, float]:
    """`size` targets due at one instant: rate, CPU and round trips per post."""
    bench.fake.reset()
    due = h.utcnow() + timedelta(seconds=LEAD_S)
    h.insert_targets(bench, [due] * size, label)
    assert h.utcnow() < due, "inserting took longer than the lead time"
    time.sleep(max(h.seconds(due - h.utcnow()), 0))
    cpu0, c0 = yardsticks.cpu_seconds(pids), counts(count_dir)
    wait_platform(bench, size, timeout=600)
    wait_recorded(bench, label, size)
    time.sleep(1.0)  # the counters are written every 0.5 s
    cpu1, c1 = yardsticks.cpu_seconds(pids), counts(count_dir)
    rows = h.published(bench, label)
    span = h.seconds(max(p for _, p in rows) - due)
    d = {k: c1.get(k, 0) - c0.get(k, 0) for k in set(c1) | set(c0)}
    trips = d.get("statements", 0) + d.get("begins", 0) + d.get("commits", 0) + d.get("rollbacks", 0)
    trips += d.get("pings", 0)
    stats = bench.fake.stats()
    return {
        "per_s": size / span,
        "span_s": span,
        "first_s": h.seconds(min(p for _, p in rows) - due),  # from the due time to the first post out
        "cpu_ms": (cpu1 - cpu0) * 1000 / size,
        "trips": trips / size,
        "statements": d.get("statements", 0) / size,
        "transactions": d.get("commits", 0) / size,
        "pings": d.get("pings", 0) / size,
        "redis": d.get("redis", 0) / size,
        "deferred": d.get("deferred", 0) / size,
        "duplicates": float(stats["duplicates"]),  # type: ignore[arg-type]
        # A host call slot's time per call, and the share of the burst the slots were busy (CAP per process).
        "slot_ms": d.get("slot_held_us", 0) / 1000 / max(d.get("slot_calls", 0), 1),
        "slots_busy": d.get("slot_held_us", 0) / 1e6 / (span * PROCESSES * CAP),
        "http_ms": d.get("http_us", 0) / 1000 / max(d.get("http_calls", 0), 1),  # of it, in the HTTP call
    }


def check_budget(published_so_far: int, rate: float) -> None:
    """Stop with the reason when the steady scenario would outrun FakeSocial's declared publish budget (the
    engine would rightly hold the rest until the window resets, and the run would wait for them in vain)."""
    total = published_so_far + int(rate * STEADY_S)
    allowed = ACCOUNTS * _PUBLISH_BUDGET.limit
    if total > allowed:
        raise SystemExit(
            f"this run publishes {total} posts within {_PUBLISH_BUDGET.window_s:.0f} s but {ACCOUNTS} accounts may "
            f"publish {allowed} (FakeSocial declares {_PUBLISH_BUDGET.limit} per account): raise BENCH_ACCOUNTS"
        )


def steady(bench: h.Bench, rate: float) -> list[float]:
    """Targets due at `rate` per second for STEADY_S seconds; returns each one's lateness."""
    bench.fake.reset()
    start = h.utcnow() + timedelta(seconds=LEAD_S)
    count = int(rate * STEADY_S)
    due = [start + timedelta(seconds=i / rate) for i in range(count)]
    h.insert_targets(bench, due, "steady")
    assert h.utcnow() < start, "inserting took longer than the lead time"
    time.sleep(max(h.seconds(start - h.utcnow()) + STEADY_S, 0))
    wait_platform(bench, count, timeout=STEADY_S + 120)
    wait_recorded(bench, "steady", count)
    return [h.seconds(p - d) for d, p in h.published(bench, "steady")]


def rq_publishing(bench: h.Bench, processes: int, run: int) -> tuple[float, float]:
    """OCMA targets published through rq (benchmarks/rq_publish_job.py): claim, call, record per job."""
    warm = h.insert_targets(bench, [h.utcnow()] * 4 * processes, f"rqpubwarm{run}", enqueue=False)
    ids = h.insert_targets(bench, [h.utcnow()] * (YARD_POSTS // 2), f"rqpub{run}", enqueue=False)
    calls = [("rq_publish_job.publish_target", (target_id,)) for target_id in ids]
    warmup = [("rq_publish_job.publish_target", (target_id,)) for target_id in warm]
    return yardsticks.rq_rate("rq_publish_job.py", h.REDIS_URL, calls, processes, bench.env, warmup=warmup)


@dataclass
class Yardsticks:
    """Each yardstick's rate per run (posts per second), and rq's CPU per job (ms) per run."""

    raw: list[float] = field(default_factory=list)
    # The raw client again with as many calls in flight as each side has, over as many posts: what each
    # side could reach at its own concurrency (the engine: processes x cap; rq: its processes).
    raw_engine: list[float] = field(default_factory=list)
    raw_rq: list[float] = field(default_factory=list)
    httpx: list[float] = field(default_factory=list)
    httpx_levels: list[int] = field(default_factory=list)
    rq: list[float] = field(default_factory=list)
    rq_cpu_ms: list[float] = field(default_factory=list)
    rq_publish: list[float] = field(default_factory=list)
    rq_publish_cpu_ms: list[float] = field(default_factory=list)


RQ_PROCESSES = (os.cpu_count() or 1) * RQ_PER_CORE
# rq's jobs: as many rounds of calls as the engine's burst (BURST over PROCESSES x CAP slots), so the last,
# partly filled round costs both sides the same share of their time.
RQ_JOBS = max(RQ_PROCESSES, BURST * RQ_PROCESSES // (PROCESSES * CAP))


def rq_publish_runs(bench: h.Bench, y: Yardsticks) -> None:
    """RUNS runs of OCMA's publish as rq jobs (before the engine's workers start: they would claim these)."""
    for run in range(RUNS):
        rate, cpu_ms = rq_publishing(bench, RQ_PROCESSES, run)
        y.rq_publish.append(rate)
        y.rq_publish_cpu_ms.append(cpu_ms)
    print(
        f"OCMA's publish on rq ({RQ_PROCESSES} SimpleWorkers, {YARD_POSTS // 2} targets): {spread(y.rq_publish)} "
        f"posts/s; CPU per job {spread(y.rq_publish_cpu_ms)} ms",
        flush=True,
    )


def yardstick_run(bench: h.Bench, y: Yardsticks) -> None:
    """One run of each yardstick (raw, raw at each side's calls in flight, httpx at its best, fair rq)."""
    url = bench.fake.base_url
    y.raw.append(yardsticks.raw_in_process(url, YARD_POSTS, CONCURRENCY))
    y.raw_engine.append(yardsticks.raw_in_process(url, BURST, PROCESSES * CAP))
    y.raw_rq.append(yardsticks.raw_in_process(url, RQ_JOBS, RQ_PROCESSES))
    rate, level = yardsticks.httpx_best(url, YARD_POSTS, HTTPX_LEVELS)
    y.httpx.append(rate)
    y.httpx_levels.append(level)
    rate, cpu_ms = yardsticks.rq_fair(url, h.REDIS_URL, RQ_JOBS, RQ_PROCESSES, bench.env)
    y.rq.append(rate)
    y.rq_cpu_ms.append(cpu_ms)


def print_yardsticks(y: Yardsticks) -> None:
    """The yardsticks' min / median / max."""
    print(f"raw client ({CONCURRENCY} connections, {YARD_POSTS} posts): {spread(y.raw)} posts/s", flush=True)
    print(
        f"raw client at the engine's {PROCESSES * CAP} calls in flight ({BURST} posts, as a burst): "
        f"{spread(y.raw_engine)} posts/s; at rq's {RQ_PROCESSES} ({RQ_JOBS} posts, as its jobs): "
        f"{spread(y.raw_rq)} posts/s",
        flush=True,
    )
    print(
        f"httpx (best of {HTTPX_LEVELS} in flight; best level per run {y.httpx_levels}): {spread(y.httpx)} posts/s",
        flush=True,
    )
    print(
        f"fair rq ({RQ_PROCESSES} SimpleWorkers, {RQ_JOBS} jobs after 4 per worker unmeasured): {spread(y.rq)} "
        f"posts/s; CPU per job {spread(y.rq_cpu_ms)} ms",
        flush=True,
    )


def print_bursts(runs: list[dict[str, float]]) -> None:
    """Each burst's rate, cost and slot figures."""
    for r in runs:
        print(
            f"OCMA burst: {BURST} in {r['span_s']:.2f} s -> {r['per_s']:.1f} posts/s; per post: CPU "
            f"{r['cpu_ms']:.2f} ms, DB round trips {r['trips']:.2f} ({r['statements']:.2f} statements, "
            f"{r['transactions']:.2f} commits, {r['pings']:.2f} pings), Redis commands {r['redis']:.2f}, "
            f"deferred {r['deferred']:.3f}; duplicates {r['duplicates']:.0f}; a call holds its slot "
            f"{r['slot_ms']:.1f} ms, {r['http_ms']:.1f} of them in the HTTP call (the platform answers in "
            f"{LATENCY * 1000:.0f}), slots busy {r['slots_busy']:.0%} of the burst; first answer in "
            f"{r['first_s']:.3f} s after the due time",
            flush=True,
        )
    print(
        f"OCMA burst ({PROCESSES} processes x {CONCURRENCY} in flight, platform cap {CAP} per host and process, "
        f"{PROCESSES * CAP} calls in flight in all; the plugin declares {DECLARED_CAP}): "
        f"{spread([r['per_s'] for r in runs])} posts/s",
        flush=True,
    )


def med_of(values: list[float], digits: int = 1) -> str:
    """The median, or n/a without values."""
    return f"{statistics.median(values):.{digits}f}" if values else "n/a"


def share(rate: float, of: list[float]) -> str:
    """`rate` over the median of `of`, or n/a."""
    return f"{rate / statistics.median(of):.2f}" if of else "n/a"


def print_summary(y: Yardsticks, runs: list[dict[str, float]], lateness: list[float], rate: float) -> None:
    """The steady scenario, each side's efficiency, and the last line of name=value pairs."""
    per_s = statistics.median(r["per_s"] for r in runs)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    p50, p99, worst = h.quantile(lateness, 0.5), h.quantile(lateness, 0.99), max(lateness)
    print(
        f"OCMA steady: {len(lateness)} targets at {rate:.1f}/s for {STEADY_S:.0f} s; lateness p50 {p50:.3f} s, "
        f"p99 {p99:.3f} s, max {worst:.3f} s (includes the platform's {LATENCY:.2f} s answer time)"
    )
    # Each engine burst ran right after a fair rq run: the ratio of each pair, not only of the medians.
    pairs = [r["per_s"] / q for r, q in zip(runs, y.rq, strict=False)]
    if y.rq:
        # per_s / rq_per_s = (engine's ceiling / rq's ceiling) x (engine_efficiency / rq_efficiency)
        print(
            f"each side against the raw client at its own calls in flight: the engine "
            f"{share(per_s, y.raw_engine)}, rq {share(statistics.median(y.rq), y.raw_rq)}; "
            f"those ceilings' ratio {share(statistics.median(y.raw_engine), y.raw_rq)}; "
            f"engine / rq run by run: {', '.join(f'{x:.3f}' for x in pairs)}"
        )
    print(
        f"per_s={per_s:.1f} raw_per_s={med_of(y.raw)} httpx_per_s={med_of(y.httpx)} "
        f"raw_engine_in_flight_per_s={med_of(y.raw_engine)} raw_rq_in_flight_per_s={med_of(y.raw_rq)} "
        f"engine_efficiency={share(per_s, y.raw_engine)} "
        f"rq_efficiency={share(statistics.median(y.rq), y.raw_rq) if y.rq else 'n/a'} "
        f"httpx_in_flight={'/'.join(map(str, y.httpx_levels)) or 0} concurrency={CONCURRENCY} platform_cap={CAP} "
        f"rq_per_s={med_of(y.rq)} rq_ratio_min={min(pairs, default=0):.3f} "
        f"rq_ratio_median={statistics.median(pairs) if pairs else 0:.3f} rq_ratio_max={max(pairs, default=0):.3f} "
        f"rq_jobs={RQ_JOBS} rq_publish_per_s={med_of(y.rq_publish)} "
        f"rq_cpu_ms_per_job={med_of(y.rq_cpu_ms, 2)} rq_publish_cpu_ms_per_job={med_of(y.rq_publish_cpu_ms, 2)} "
        f"rq_processes={RQ_PROCESSES} cpu_ms_per_post={med['cpu_ms']:.2f} "
        f"db_round_trips_per_post={med['trips']:.2f} db_statements_per_post={med['statements']:.2f} "
        f"redis_commands_per_post={med['redis']:.2f} duplicates={sum(r['duplicates'] for r in runs):.0f} "
        f"slot_ms={med['slot_ms']:.1f} http_ms={med['http_ms']:.1f} slots_busy={med['slots_busy']:.2f} "
        f"steady_rate={rate:.1f} steady_p50_s={p50:.3f} steady_p99_s={p99:.3f} steady_max_s={worst:.3f}"
    )


def main() -> None:
    """OCMA's publish on rq; then, run by run, the yardsticks and an engine burst; the steady scenario; the
    summary, with one line of name=value pairs last."""
    with h.bench_env(accounts=ACCOUNTS, latency_s=LATENCY, fast=True) as bench:
        y = Yardsticks()
        if YARDSTICKS:
            rq_publish_runs(bench, y)
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # workers may still write
            count_dir = Path(tmp)
            pids = [p.pid for p in start_workers(bench, count_dir)]
            if WARMUP:
                burst(bench, "warmup", pids, count_dir, size=WARMUP)
            runs = []
            for r in range(RUNS):  # interleaved: a busier stretch of the machine hits both sides alike
                if YARDSTICKS:
                    yardstick_run(bench, y)
                runs.append(burst(bench, f"burst{r}", pids, count_dir))
            if YARDSTICKS:
                print_yardsticks(y)
            print_bursts(runs)
            rate = STEADY_RATE or statistics.median(r["per_s"] for r in runs) / 2
            rq_published = RUNS * (YARD_POSTS // 2 + 4 * RQ_PROCESSES) if YARDSTICKS else 0
            check_budget(published_so_far=WARMUP + RUNS * BURST + rq_published, rate=rate)
            lateness = steady(bench, rate)
    print_summary(y, runs, lateness, rate)


if __name__ == "__main__":
    main()
