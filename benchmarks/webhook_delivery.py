"""Outbound webhook deliveries per second: N stored events delivered to a local receiver by OCMA's sender
(the delivery table as the queue, the request-forgery guard, Standard Webhooks signing, one log row per
attempt), against a plain httpx sender posting the same signed bodies to the same receiver in the same run.

Two ways of running OCMA's sender: `worker` starts a real `ocma worker` and times it from the first to the
last delivery the receiver saw (what an installation gets; the worker turns the stored events into delivery
rows before its first send, so that part is not timed: that is `deliveries_per_s`); `rounds` calls
ocma_core.webhook_delivery.run back to back in this process and times everything from the stored events on,
turning them into deliveries included (`with_expansion_per_s`). The receiver is benchmarks/fast_platform.py
answering at once (raw asyncio, keep-alive).

Run: .venv/bin/python benchmarks/webhook_delivery.py [--events 500] [--runs 3]
Needs PostgreSQL (OCMA_BENCH_POSTGRES_URL as in benchmarks/_harness.py).
Goal (issue #20): deliveries_per_s at least half the plain httpx sender's (ratio >= 0.5).
Last line (medians): events= deliveries_per_s= httpx_per_s= ratio= with_expansion_per_s= with_expansion_ratio=
run_ratio_min= run_ratio_median= run_ratio_max= (each run's worker/httpx ratio: the machine's load varies)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["OCMA_LOAD_PLUGINS"] = ""
os.environ["OCMA_WEBHOOKS_ALLOW_PRIVATE"] = "1"  # the receiver is on loopback

from stream_fanout import Setup, database, free_port  # noqa: E402


def receiver() -> tuple[subprocess.Popen[bytes], str]:
    """The fast receiver on a free port, answering at once; (process, base URL)."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fast_platform.py"), "--port", str(port), "--latency", "0"]
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.post(f"{base}/_fake/reset", timeout=2)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("receiver did not start")


def received(base: str) -> dict[str, Any]:
    """What the receiver counted: posts, first_at, last_at."""
    import httpx

    return dict(httpx.get(f"{base}/_fake/stats", timeout=10).json())


def store_events(setup: Setup, count: int, tag: str) -> None:
    """`count` events of a kind only this run's endpoint wants, stored 100 to a transaction."""
    from ocma_core.events import Event, record

    for start in range(0, count, 100):
        with setup.ocma.session() as session:
            for i in range(start, min(count, start + 100)):
                record(session, Event(f"bench.{tag}", setup.workspace_id, {"i": i, "text": "x" * 200}))


def endpoint(setup: Setup, base: str, tag: str) -> str:
    """A new webhook for kind bench.<tag> pointing at the receiver; its secret."""
    from ocma_core.services.webhooks import create_webhook

    return create_webhook(setup.ocma, setup.workspace_id, f"{base}/v1/posts", [f"bench.{tag}"]).secret


def run_rounds(setup: Setup, base: str, count: int, tag: str) -> float:
    """OCMA's sender, rounds back to back in this process; deliveries per second."""
    from ocma_core.webhook_delivery import run

    endpoint(setup, base, tag)
    store_events(setup, count, tag)
    start, sent = time.perf_counter(), 0
    while sent < count:
        sent += run(setup.ocma)
    return count / (time.perf_counter() - start)


def run_worker(setup: Setup, base: str, count: int, tag: str) -> float:
    """OCMA's sender inside a real `ocma worker`; deliveries per second from first to last received."""
    endpoint(setup, base, tag)
    store_events(setup, count, tag)
    before = int(received(base)["posts"])
    env = {**setup.env, "OCMA_REDIS_URL": "", "OCMA_WEBHOOKS_ALLOW_PRIVATE": "1"}
    cmd = [sys.executable, "-m", "ocma_core.cli", "worker", "--processes", "1"]
    worker = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 600
        while int(received(base)["posts"]) < before + count:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"the worker delivered {int(received(base)['posts']) - before} of {count}")
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    stats = received(base)  # first_at is of this run: the receiver was reset before it
    return count / max(float(stats["last_at"]) - float(stats["first_at"]), 1e-9)


def run_httpx(base: str, count: int, secret: str) -> float:
    """The ceiling: one keep-alive httpx.Client posting the same signed bodies one after another."""
    import httpx

    from ocma_core.webhook_delivery import sign

    bodies = [
        {"type": "bench.raw", "id": f"evt_{i}", "seq": i, "data": {"i": i, "text": "x" * 200}}
        for i in range(count)
    ]
    start = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        for i, body in enumerate(bodies):
            data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": f"msg_{i}",
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(secret, f"msg_{i}", stamp, data),
            }
            client.post(f"{base}/v1/posts", content=data, headers=headers).raise_for_status()
    return count / (time.perf_counter() - start)


def main() -> None:
    """Measure `runs` times and print the medians."""
    import httpx

    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: list[dict[str, float]] = []
    proc, base = receiver()
    try:
        with database() as setup:
            for run in range(args.runs):
                httpx.post(f"{base}/_fake/reset", timeout=10)
                row = {"rounds": run_rounds(setup, base, args.events, f"r{run}")}
                httpx.post(f"{base}/_fake/reset", timeout=10)
                row["worker"] = run_worker(setup, base, args.events, f"w{run}")
                row["httpx"] = run_httpx(base, args.events, endpoint(setup, base, f"h{run}"))
                rows.append(row)
                print(
                    f"run {run + 1}: ocma worker {row['worker']:.0f}/s, in-process with expansion {row['rounds']:.0f}/s, "
                    f"httpx {row['httpx']:.0f}/s",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in rows))

    ratio, expansion_ratio = med("worker") / med("httpx"), med("rounds") / med("httpx")
    ratios = sorted(r["worker"] / r["httpx"] for r in rows)  # each run's own ratio (same load, same moment)
    print(f"goal: ratio >= 0.5 -> {'met' if ratio >= 0.5 else 'NOT met'}")
    print(
        f"events={args.events} deliveries_per_s={med('worker'):.0f} httpx_per_s={med('httpx'):.0f} "
        f"ratio={ratio:.2f} with_expansion_per_s={med('rounds'):.0f} with_expansion_ratio={expansion_ratio:.2f} "
        f"run_ratio_min={ratios[0]:.2f} run_ratio_median={statistics.median(ratios):.2f} run_ratio_max={ratios[-1]:.2f}"
    )


if __name__ == "__main__":
    main()
