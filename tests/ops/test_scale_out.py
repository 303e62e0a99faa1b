"""Scale out, tested: 2 API processes and 3 worker processes (separate OS processes, real PostgreSQL and Redis)
publish a few hundred posts scheduled through both APIs to a fake platform in its own process; one API and
one worker are SIGKILLed midway. Every post is published exactly once and every event is stored once and
reaches the subscribers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from ops_support import OCMA, Processes, free_port, wait_until
from sqlalchemy import text
from webhook_receiver import Receiver, verify

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.engine import dispose_engines
from ocma_core.db.models import Account, Workspace
from ocma_core.db.types import utcnow

ROOT = Path(__file__).resolve().parents[2]
POSTS = int(os.environ.get("OCMA_TEST_SCALE_POSTS", "240"))
ACCOUNTS = 3
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900)]


def operator_env(tmp: Path, database_url: str, redis_url: str, fake_url: str) -> dict[str, str]:
    """What docs/operations.md tells an operator to set on every machine, plus the test platform and subscriber."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCMA_")}
    env.update(
        OCMA_DATABASE_URL=database_url,
        OCMA_REDIS_URL=redis_url,
        OCMA_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        OCMA_DATA_DIR=str(tmp / "data"),
        OCMA_LOG_FORMAT="json",
        OCMA_WORKER_HEARTBEAT_S="1",  # a killed worker's claims are looked up after 3 s, not 20
        OCMA_CLAIM_LEASE_S="3",
        OCMA_LOAD_PLUGINS="",
        OCMA_PLUGIN_MODULES="ocma_example_platform,ocma_ops_subscriber",
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "example_platform"), str(Path(__file__).parent)]),
        OCMA_FAKESOCIAL_API_BASE=fake_url,
        OCMA_FAKESOCIAL_CLIENT_ID="fake-client-id",
        OPS_TEST_EVENTS_PATH=str(tmp / "events.jsonl"),
        OCMA_METRICS_INTERVAL_S="0",
        OCMA_WEBHOOKS_ALLOW_PRIVATE="1",  # the test's receiver listens on loopback
    )
    return env


def connect_accounts(env: dict[str, str], fake_url: str) -> list[str]:
    """Accounts whose tokens the fake platform knows (the OAuth flow itself is tested elsewhere)."""
    settings = Settings(
        database_url=env["OCMA_DATABASE_URL"],
        encryption_keys=env["OCMA_ENCRYPTION_KEYS"],
        data_dir=Path(env["OCMA_DATA_DIR"]),
        _env_file=None,  # type: ignore[call-arg]
    )
    ocma = Ocma(settings)
    tokens = {f"scale-token-{i}": f"user{i}" for i in range(ACCOUNTS)}
    httpx.post(f"{fake_url}/_fake/config", json={"tokens": tokens}, timeout=30).raise_for_status()
    ids = []
    with ocma.session() as session:
        workspace = session.exec(text("SELECT id FROM workspace")).scalar_one()  # type: ignore[call-overload]
        assert session.get(Workspace, workspace) is not None
        for i, token in enumerate(tokens):
            account = Account(
                workspace_id=workspace,
                platform="fakesocial",
                external_id=f"user{i}",
                handle=f"user{i}",
                access_token_enc=ocma.vault.encrypt(token),
            )
            session.add(account)
            ids.append(account.id)
    dispose_engines()
    return ids


def ocma_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([OCMA, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def db_rows(url: str, sql: str) -> list[Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


def published_by(url: str, pid: int) -> set[str]:
    """The posts a worker process published (its pid is part of every attempt's worker name)."""
    rows = db_rows(
        url,
        "SELECT t.post_id FROM publishattempt a JOIN target t ON t.id = a.target_id "
        f"WHERE a.worker LIKE '%:{pid}:%' AND a.outcome = 'ok'",
    )
    return {row[0] for row in rows}


def test_two_apis_three_workers_kill_one_of_each(
    tmp_path: Path, empty_pg: str, redis_url: str, processes: Processes
) -> None:
    with ExitStack() as stack:
        _scale_out(tmp_path, empty_pg, redis_url, processes, stack)


def _scale_out(tmp_path: Path, empty_pg: str, redis_url: str, processes: Processes, stack: ExitStack) -> None:
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    processes.start(
        "fake", [sys.executable, "-m", "ocma_core.testing.fake_platform", "--port", str(fake_port)], {}
    )
    wait_until(
        lambda: httpx.get(f"{fake_url}/_fake/stats", timeout=5).status_code == 200, 60, "the fake platform"
    )
    env = operator_env(tmp_path, empty_pg, redis_url, fake_url)

    ocma_cli(env, "db", "upgrade")
    key = re.search(
        r"Owner API key \(shown once, store it now\): (\S+)", ocma_cli(env, "init", "--workspace", "Scale")
    )
    assert key is not None
    accounts = connect_accounts(env, fake_url)
    workers = [
        processes.start(f"worker{i}", [OCMA, "worker", "--processes", "1", "--concurrency", "8"], env)
        for i in range(3)
    ]
    apis = []
    for i in range(2):
        port = free_port()
        processes.start(f"api{i}", [OCMA, "serve", "--no-worker", "--port", str(port)], env)
        apis.append(f"http://127.0.0.1:{port}")
    for api in apis:
        wait_until(
            lambda api=api: httpx.get(f"{api}/readyz", timeout=5).status_code == 200, 180, f"{api}/readyz"
        )

    auth = {"Authorization": f"Bearer {key.group(1)}"}
    receiver = stack.enter_context(Receiver())
    hook = httpx.post(
        f"{apis[1]}/v1/webhooks", headers=auth, json={"url": receiver.url, "events": ["post.published"]}
    )
    assert hook.status_code == 201, hook.text
    streamed = Streamed(f"{apis[1]}/v1/events?kinds=post.published&since=0", auth)
    killed_worker = workers[0].pid
    with httpx.Client(timeout=60) as client:
        for i in range(POSTS):
            if i == POSTS // 2:  # midway: one API and one worker die without warning
                # ...once that worker has published something, so the kill tests recovery (a loaded machine may
                # start it late).
                wait_until(
                    lambda: bool(published_by(empty_pg, killed_worker)), 300, "the first worker to publish"
                )
                processes.kill("api0")
                processes.kill("worker0")
            api = apis[1] if i >= POSTS // 2 or i % 2 else apis[0]
            when = (utcnow() + timedelta(seconds=2)).isoformat()
            body = {
                "body": f"scale {i}",
                "account_ids": [accounts[i % ACCOUNTS]],
                "action": "schedule",
                "scheduled_at": when,
            }
            response = client.post(f"{api}/v1/posts", headers=auth, json=body)
            assert response.status_code == 201, response.text
    assert (
        processes.started["api0"].wait(timeout=30) == -9
        and processes.started["worker0"].wait(timeout=30) == -9
    )

    def all_published() -> bool:
        rows = db_rows(empty_pg, "SELECT count(*) FROM target WHERE status = 'published'")
        return int(rows[0][0]) == POSTS

    wait_until(all_published, 600, f"all {POSTS} targets to be published")
    stats = httpx.get(f"{fake_url}/_fake/stats", timeout=30).json()
    assert stats["duplicates"] == 0 and stats["posts"] == POSTS
    assert stats["texts"] == sorted(f"scale {i}" for i in range(POSTS))

    stored = db_rows(empty_pg, "SELECT payload->>'post_id' FROM notification WHERE kind = 'post.published'")
    post_ids = {row[0] for row in db_rows(empty_pg, "SELECT id FROM post")}
    assert sorted(r[0] for r in stored) == sorted(post_ids)  # each post's event stored exactly once

    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    published = [e for e in events if e["kind"] == "post.published"]
    # At least once: a delivery repeats only as the same stored event (same sequence id), never as a new one.
    seqs_of: dict[str, set[int]] = {}
    for e in published:
        seqs_of.setdefault(e["post_id"], set()).add(e["seq"])
    assert all(len(s) == 1 for s in seqs_of.values()), seqs_of
    # A worker killed between committing a publish and handing its event to the plugins no longer loses it:
    # the plugins' cursor in the database stays behind, and a surviving worker's sweep delivers it.
    by_killed = published_by(empty_pg, killed_worker)
    assert by_killed, "the killed worker had published nothing: the kill tested no recovery"
    wait_until(lambda: post_ids <= _delivered(tmp_path), 120, "every post.published to reach the plugins")
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    # The same events reached an SSE client of the surviving API (published by other processes, woken
    # through Redis) and a webhook receiver (sent by the workers, signed, each event under one webhook-id).
    wait_until(lambda: post_ids <= streamed.post_ids, 120, "every post.published on the SSE stream")
    wait_until(lambda: post_ids <= _hooked(receiver), 180, "every post.published at the webhook receiver")
    secret = hook.json()["secret"]
    assert all(verify(secret, r["headers"], r["body"]) for r in receiver.received)
    ids_per_event: dict[str, set[str]] = {}
    for r in receiver.received:
        ids_per_event.setdefault(json.loads(r["body"])["id"], set()).add(r["headers"]["webhook-id"])
    assert all(len(ids) == 1 for ids in ids_per_event.values())
    scheduled = {e["post_id"] for e in events if e["kind"] == "post.scheduled"}
    assert (
        scheduled == post_ids
    )  # every scheduling event reached the subscriber (the APIs were not killed mid-request)
    survivors = {e["pid"] for e in published} - {killed_worker}
    assert len(survivors) >= 1
    assert httpx.get(f"{apis[1]}/readyz", timeout=10).status_code == 200


def _delivered(tmp_path: Path) -> set[str]:
    """Posts whose post.published reached the subscriber plugin so far."""
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    return {e["post_id"] for e in map(json.loads, lines) if e["kind"] == "post.published"}


def _hooked(receiver: Receiver) -> set[str]:
    """Posts whose post.published the webhook receiver accepted so far."""
    return {json.loads(r["body"])["data"]["post_id"] for r in list(receiver.received)}


class Streamed:
    """An SSE client following GET /v1/events in a thread, collecting the post ids it is sent."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.post_ids: set[str] = set()
        self.url, self.headers = url, headers
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        last = None
        while True:  # reconnect with Last-Event-ID, as EventSource does
            headers = {**self.headers, **({"Last-Event-ID": last} if last else {})}
            try:
                with httpx.stream("GET", self.url, headers=headers, timeout=60) as response:
                    for line in response.iter_lines():
                        if line.startswith("id: "):
                            last = line[4:]
                        elif line.startswith("data: "):
                            self.post_ids.add(json.loads(line[6:])["data"]["post_id"])
            except httpx.HTTPError:
                continue
