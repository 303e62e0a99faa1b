"""Shared set-up for the publishing benchmarks: a throwaway PostgreSQL database, Redis, the FakeSocial
platform on loopback, N connected accounts, bulk-inserted targets, and `ocma worker` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "example_platform"))

from ocma_core.config import Settings  # noqa: E402
from ocma_core.context import Ocma  # noqa: E402
from ocma_core.db.engine import make_engine  # noqa: E402
from ocma_core.db.migrate import upgrade  # noqa: E402
from ocma_core.db.models import Account, Post, PostStatus, Target, TargetStatus  # noqa: E402
from ocma_core.db.types import new_id, utcnow  # noqa: E402
from ocma_core.services.workspaces import create_workspace  # noqa: E402

PG_ADMIN = os.environ.get("OCMA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("OCMA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


class FakeProcess:
    """FakeSocial in its own process (so the benchmark's own Python does not slow it), driven over HTTP.

    `fast` runs benchmarks/fast_platform.py (raw asyncio, keep-alive, only what publishing needs) instead of
    the full fake with its knobs."""

    def __init__(self, latency_s: float, fast: bool = False) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.fast = fast
        program = (
            [str(Path(__file__).parent / "fast_platform.py")]
            if fast
            else ["-m", "ocma_core.testing.fake_platform"]
        )
        self.proc = subprocess.Popen(
            [sys.executable, *program, "--port", str(port), "--latency", str(latency_s)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("fake platform did not start")

    def configure(self, **body: object) -> None:
        """POST /_fake/config (the fast platform takes any token and has no knobs)."""
        import httpx

        if self.fast:
            if set(body) - {"tokens"}:
                raise ValueError(f"the fast platform has no knobs: {sorted(body)}")
            return
        httpx.post(f"{self.base_url}/_fake/config", json=body, timeout=30).raise_for_status()

    def stats(self) -> dict[str, object]:
        """GET /_fake/stats."""
        import httpx

        response = httpx.get(f"{self.base_url}/_fake/stats", timeout=30)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Forget the posts seen so far (fast platform only)."""
        import httpx

        httpx.post(f"{self.base_url}/_fake/reset", timeout=30).raise_for_status()

    def stop(self) -> None:
        """Terminate the process."""
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Bench:
    """Everything a benchmark run needs."""

    ocma: Ocma
    url: str
    fake: FakeProcess
    workspace_id: str
    accounts: list[str]
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextmanager
def bench_env(
    accounts: int,
    latency_s: float,
    *,
    rate_limit: int | None = None,
    rate_window_s: float = 900.0,
    fast: bool = False,
) -> Iterator[Bench]:
    """A throwaway database migrated to head, a flushed Redis db, a fake platform and connected accounts."""
    import redis

    admin = make_engine(PG_ADMIN)
    name = f"ocma_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    redis.Redis.from_url(REDIS_URL).flushdb()
    key = Fernet.generate_key().decode()
    fake = FakeProcess(latency_s, fast)
    if rate_limit is not None:
        fake.configure(rate_limit=rate_limit, rate_window_s=rate_window_s)
    fake.configure(tokens={f"bench-token-{i}": f"user{i}" for i in range(accounts)})
    data_dir = Path(f"/tmp/{name}")
    settings = Settings(
        database_url=url, redis_url=REDIS_URL, encryption_keys=key, data_dir=data_dir, _env_file=None
    )  # type: ignore[call-arg]
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ocma = Ocma(settings)
    workspace = create_workspace(ocma, "Bench")
    ids = []
    with ocma.session() as session:
        for i in range(accounts):
            token = f"bench-token-{i}"
            account = Account(
                workspace_id=workspace.id,
                platform="fakesocial",
                external_id=f"user{i}",
                handle=f"user{i}",
                access_token_enc=ocma.vault.encrypt(token),
            )
            session.add(account)
            ids.append(account.id)
    env = {
        **os.environ,
        "OCMA_DATABASE_URL": url,
        "OCMA_REDIS_URL": REDIS_URL,
        "OCMA_ENCRYPTION_KEYS": key,
        "OCMA_DATA_DIR": str(data_dir),
        "OCMA_LOAD_PLUGINS": "",
        "OCMA_PLUGIN_MODULES": "ocma_example_platform",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "example_platform")]),
        "OCMA_FAKESOCIAL_API_BASE": fake.base_url,
        "OCMA_FAKESOCIAL_CLIENT_ID": "fake-client-id",
    }
    bench = Bench(ocma, url, fake, workspace.id, ids, env)
    try:
        yield bench
    finally:
        stop_workers(bench)
        fake.stop()
        from ocma_core.db.engine import dispose_engines

        dispose_engines()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start_worker(bench: Bench, processes: int, concurrency: int, **extra_env: str) -> subprocess.Popen[bytes]:
    """Start one `ocma worker` command (which runs `processes` processes)."""
    cmd = [
        sys.executable,
        "-m",
        "ocma_core.cli",
        "worker",
        "--processes",
        str(processes),
        "--concurrency",
        str(concurrency),
    ]
    log_path = os.environ.get("BENCH_WORKER_LOG")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    extra_env = {"OCMA_LOG_LEVEL": "WARNING", **extra_env}
    proc = subprocess.Popen(
        cmd, env={**bench.env, **extra_env}, stdout=log, stderr=log, start_new_session=True
    )
    bench.workers.append(proc)
    return proc


def stop_workers(bench: Bench) -> None:
    """Stop every worker started by this run."""
    for proc in bench.workers:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for proc in bench.workers:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    bench.workers.clear()


def wait_for_workers(bench: Bench, count: int, timeout: float = 60.0) -> None:
    """Block until `count` workers have written a heartbeat."""
    from ocma_core.services.status import engine_status

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(engine_status(bench.ocma)["workers"]) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError("workers did not start")


def insert_targets(
    bench: Bench, due: list[datetime], label: str, thread_parts: int = 1, enqueue: bool = True
) -> list[str]:
    """Bulk-insert one post + target per due time (round-robin over accounts) and put them on the queue
    (unless not `enqueue`); returns the targets' ids.

    With `thread_parts` > 1 each post is a thread: "<label> <i>", then "<label> <i> part 2", ...
    """
    rows_post, rows_target = [], []
    now = utcnow()
    for i, when in enumerate(due):
        post_id, target_id = new_id(), new_id()
        account = bench.accounts[i % len(bench.accounts)]
        rows_post.append(
            Post(
                id=post_id,
                workspace_id=bench.workspace_id,
                body=f"{label} {i}",
                thread=[f"{label} {i} part {k}" for k in range(2, thread_parts + 1)],
                status=PostStatus.SCHEDULED,
                scheduled_at=when,
                created_at=now,
                updated_at=now,
            )
        )
        rows_target.append(
            Target(
                id=target_id,
                post_id=post_id,
                workspace_id=bench.workspace_id,
                account_id=account,
                platform="fakesocial",
                status=TargetStatus.QUEUED,
                due_at=when,
                updated_at=now,
            )
        )
    with bench.ocma.session() as session:
        session.add_all(rows_post)
        session.flush()
        session.add_all(rows_target)
    if enqueue:
        bench.ocma.queue.push_many([(t.id, t.due_at) for t in rows_target if t.due_at is not None])
    return [t.id for t in rows_target]


def published(bench: Bench, label: str) -> list[tuple[datetime, datetime]]:
    """(due_at, published_at) of the published targets of posts labelled `label`."""
    with bench.ocma.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.due_at, t.published_at FROM target t JOIN post p ON p.id = t.post_id "
                "WHERE t.status = 'published' AND p.body LIKE :label"
            ),
            {"label": f"{label} %"},
        ).all()
    return [(d, p) for d, p in rows]


def count_status(bench: Bench) -> dict[str, int]:
    """Targets by status."""
    with bench.ocma.engine.connect() as conn:
        return dict(conn.execute(text("SELECT status, count(*) FROM target GROUP BY status")).all())  # type: ignore[arg-type]


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def seconds(delta: timedelta) -> float:
    """A timedelta in seconds."""
    return delta.total_seconds()
