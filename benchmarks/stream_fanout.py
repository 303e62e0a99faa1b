"""Live stream fan-out: N WebSocket clients of /v1/stream on one `ocma serve` process while events are
stored at a fixed rate by another process, against two ceilings measured in the same run with the same
payloads at the same rate: a bare WebSocket relay (a minimal `websockets` server broadcasting each message of
a Redis channel: no database, no framework; benchmarks/_bare_ws.py) to the same N clients, and the fan-out
done by Redis itself (N raw pub/sub subscribers of one channel).

Latency is the receive time minus the time the producer took just before storing the event (so it includes
the commit, the Redis wake-up, the log read and the WebSocket send). Memory is the server's resident set,
sampled every 0.5 s; growth is its last sample minus its first once every client is connected.

Run: .venv/bin/python benchmarks/stream_fanout.py [--clients 1000] [--rate 100] [--seconds 10] [--runs 3]
Needs PostgreSQL and Redis (OCMA_BENCH_POSTGRES_URL, OCMA_BENCH_REDIS_URL as in benchmarks/_harness.py).
Goal (issue #20): 1,000 clients at 100 events/s with p99 delivery <= 100 ms and memory flat over the run.
Last line (medians over the runs): clients= rate= events_per_s= deliveries_per_s= p50_ms= p99_ms= lost=
max_rss_mb= rss_growth_mb= bare_events_per_s= bare_p99_ms= redis_events_per_s= redis_p99_ms= p99_vs_bare=
cpu_us_per_delivery= bare_cpu_us_per_delivery= (server CPU per message delivered: steadier than latency on a
shared machine). `--procs` spreads the clients over that many processes; `--no-redis` skips that ceiling.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["OCMA_LOAD_PLUGINS"] = ""  # the producer hands events to no plugin

from _harness import PG_ADMIN, REDIS_URL  # noqa: E402


@dataclass
class Setup:
    """A throwaway database with one workspace, its API key, and the environment of the server."""

    ocma: Any
    workspace_id: str
    key: str
    env: dict[str, str]


@contextmanager
def database() -> Iterator[Setup]:
    """A fresh PostgreSQL database migrated to head, a workspace and a viewer key; dropped afterwards."""
    import redis
    from cryptography.fernet import Fernet
    from sqlalchemy import text

    from ocma_core.config import Settings
    from ocma_core.context import Ocma
    from ocma_core.db.engine import dispose_engines, make_engine
    from ocma_core.db.migrate import upgrade
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key, create_workspace

    admin = make_engine(PG_ADMIN)
    name = f"ocma_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    redis.Redis.from_url(REDIS_URL).flushdb()
    key = Fernet.generate_key().decode()
    data_dir = f"/tmp/{name}"
    settings = Settings(
        database_url=url, redis_url=REDIS_URL, encryption_keys=key, data_dir=data_dir, _env_file=None
    )  # type: ignore[call-arg]
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ocma = Ocma(settings)
    workspace = create_workspace(ocma, "Bench")
    api_key = create_api_key(ocma, workspace.id, role=Role.VIEWER).key
    env = {
        **os.environ,
        "OCMA_DATABASE_URL": url,
        "OCMA_REDIS_URL": REDIS_URL,
        "OCMA_ENCRYPTION_KEYS": key,
        "OCMA_DATA_DIR": data_dir,
        "OCMA_LOAD_PLUGINS": "",
        "OCMA_LOG_LEVEL": "WARNING",
        "OCMA_STREAM_MAX_PER_KEY": "100000",  # every client uses the one key
    }
    try:
        yield Setup(ocma, workspace.id, api_key, env)
    finally:
        dispose_engines()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`ocma serve` (no worker) on a free port; yields its base URL and pid."""
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "ocma_core.cli", "serve", "--port", str(port), "--no-worker"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code < 500:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("ocma serve did not start")
        time.sleep(0.2)
    try:
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return -1.0


def paced(rate: float, count: int, send: Callable[[int], None]) -> None:
    """Call send(i) for i in 0..count-1 at `rate` per second (on an absolute schedule, no drift)."""
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        send(i)


def subscribers(
    mode: str, url: str, clients: int, expect: int, deadline: float, key: str = "", procs: int = 4
) -> list[subprocess.Popen[str]]:
    """Start the subscriber processes (the clients spread over `procs`) and wait until each says every one of
    its clients is connected."""
    started: list[subprocess.Popen[str]] = []
    for n in range(procs):
        share = clients // procs + (1 if n < clients % procs else 0)
        if share == 0:
            continue
        cmd = [sys.executable, str(HERE / "_stream_clients.py"), "--mode", mode, "--url", url, "--key", key]
        cmd += ["--clients", str(share), "--expect", str(expect), "--deadline", str(deadline)]
        started.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    for proc in started:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            for other in started:
                other.kill()
            raise RuntimeError(f"subscribers did not connect: {line!r}")
    return started


def result(procs: list[subprocess.Popen[str]]) -> dict[str, Any]:
    """The subscriber processes' JSON summaries, merged (latency histograms added up)."""
    from _stream_clients import percentiles

    parts = []
    for proc in procs:
        assert proc.stdout is not None
        out = proc.stdout.read().strip().splitlines()
        proc.wait(timeout=60)
        parts.append(dict(json.loads(out[-1])))
    histogram: dict[int, int] = {}
    for part in parts:
        for bucket, count in part["histogram"].items():
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
    errors = [p["error"] for p in parts if p["error"]]
    return {
        "received": sum(p["received"] for p in parts),
        "min_per_client": min(p["min_per_client"] for p in parts),
        **percentiles(histogram),
        "first": min(p["first"] for p in parts),
        "last": max(p["last"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "error": errors[0] if errors else "",
    }


def run_ocma(setup: Setup, base: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """One run through OCMA: store events at the rate, N WebSocket clients receive them."""
    from ocma_core.events import Event, dispatch, record

    count = int(args.rate * args.seconds)
    ws_url = base.replace("http", "ws", 1)
    proc = subscribers("ws", ws_url, args.clients, count, args.seconds + 60, setup.key, args.procs)
    samples: list[float] = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append(rss_mb(pid))

    def store(i: int) -> None:
        event = Event("bench.tick", setup.workspace_id, {"t": time.time(), "i": i})
        with setup.ocma.session() as session:
            record(session, event)
        dispatch(event, setup.ocma)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu_before = cpu_s(pid)
    paced(args.rate, count, store)
    got = result(proc)
    cpu = cpu_s(pid) - cpu_before
    stop.set()
    sampler.join()
    return {
        **got,
        **measures(got, args.clients, count),
        "cpu_us_per_delivery": 1e6 * cpu / max(got["received"], 1),
        "max_rss_mb": max(samples),
        "rss_growth_mb": samples[-1] - samples[0],
    }


def run_redis(args: argparse.Namespace) -> dict[str, Any]:
    """The ceiling: the same payloads published at the same rate to N raw Redis pub/sub subscribers."""
    import redis

    count = int(args.rate * args.seconds)
    proc = subscribers("redis", REDIS_URL, args.clients, count, args.seconds + 60, procs=args.procs)
    client = redis.Redis.from_url(REDIS_URL)
    paced(args.rate, count, lambda i: client.publish("bench", json.dumps({"t": time.time(), "i": i})))
    got = result(proc)
    return {**got, **measures(got, args.clients, count)}


def run_bare(args: argparse.Namespace) -> dict[str, Any]:
    """The bare WebSocket ceiling: the same payloads through Redis to a minimal broadcasting server."""
    import redis

    count = int(args.rate * args.seconds)
    port = free_port()
    cmd = [sys.executable, str(HERE / "_bare_ws.py"), "--port", str(port), "--redis", REDIS_URL]
    relay = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert relay.stdout is not None and relay.stdout.readline().strip() == "ready"
        proc = subscribers(
            "ws", f"ws://127.0.0.1:{port}", args.clients, count, args.seconds + 60, procs=args.procs
        )
        client = redis.Redis.from_url(REDIS_URL)
        cpu_before = cpu_s(relay.pid)
        paced(
            args.rate, count, lambda i: client.publish("bench-bare", json.dumps({"t": time.time(), "i": i}))
        )
        got = result(proc)
        got["cpu_us_per_delivery"] = 1e6 * (cpu_s(relay.pid) - cpu_before) / max(got["received"], 1)
    finally:
        relay.terminate()
        relay.wait(timeout=30)
    return {**got, **measures(got, args.clients, count)}


def measures(got: dict[str, Any], clients: int, count: int) -> dict[str, Any]:
    """Delivered per second (all clients, and per client) and events some client never got."""
    span = max(got["last"] - got["first"], 1e-9)
    per_s = got["received"] / span
    return {
        "deliveries_per_s": per_s,
        "events_per_s": per_s / clients,
        "lost": clients * count - got["received"],
    }


def main() -> None:
    """Measure `runs` times (OCMA then Redis each time) and print the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--procs", type=int, default=4, help="client processes the clients are spread over")
    parser.add_argument("--no-redis", action="store_true", help="skip the raw Redis pub/sub ceiling")
    args = parser.parse_args()
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    ceiling: list[dict[str, Any]] = []
    with database() as setup, server(setup.env) as (base, pid):
        for run in range(args.runs):
            ours.append(run_ocma(setup, base, pid, args))
            bare.append(run_bare(args))
            ceiling.append(
                run_redis(args) if not args.no_redis else {"events_per_s": -1.0, "p99_ms": -1.0, "lost": -1}
            )
            o, b, c = ours[-1], bare[-1], ceiling[-1]
            print(
                f"run {run + 1}: ocma {o['events_per_s']:.1f} ev/s/client p50 {o['p50_ms']:.1f} ms p99 {o['p99_ms']:.1f} ms "
                f"max {o['max_ms']:.1f} ms lost {o['lost']} errors {o['errors']} rss {o['max_rss_mb']:.0f} MB "
                f"(+{o['rss_growth_mb']:.1f}) cpu {o['cpu_us_per_delivery']:.0f} us/delivery; bare {b['events_per_s']:.1f} ev/s/client p99 {b['p99_ms']:.1f} ms lost {b['lost']} cpu {b['cpu_us_per_delivery']:.0f} us/delivery; redis {c['events_per_s']:.1f} ev/s/client p99 {c['p99_ms']:.1f} ms lost {c['lost']}",
                flush=True,
            )
            if o["error"]:
                print(f"  first client error: {o['error']}", flush=True)

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in rows))

    p99, bare_p99 = med(ours, "p99_ms"), med(bare, "p99_ms")
    met = p99 <= 100 and med(ours, "lost") == 0
    print(f"goal: p99 <= 100 ms with nothing lost -> {'met' if met else 'NOT met'}")
    print(
        f"clients={args.clients} rate={args.rate:g} events_per_s={med(ours, 'events_per_s'):.1f} "
        f"deliveries_per_s={med(ours, 'deliveries_per_s'):.0f} p50_ms={med(ours, 'p50_ms'):.1f} p99_ms={p99:.1f} "
        f"lost={med(ours, 'lost'):.0f} max_rss_mb={med(ours, 'max_rss_mb'):.0f} rss_growth_mb={med(ours, 'rss_growth_mb'):.1f} "
        f"bare_events_per_s={med(bare, 'events_per_s'):.1f} bare_p99_ms={bare_p99:.1f} "
        f"redis_events_per_s={med(ceiling, 'events_per_s'):.1f} redis_p99_ms={med(ceiling, 'p99_ms'):.1f} "
        f"p99_vs_bare={p99 / max(bare_p99, 1e-9):.1f} cpu_us_per_delivery={med(ours, 'cpu_us_per_delivery'):.1f} "
        f"bare_cpu_us_per_delivery={med(bare, 'cpu_us_per_delivery'):.1f}"
    )


if __name__ == "__main__":
    main()
