"""A post scheduled through the HTTP API and the CLI is published on time: embedded mode and `ocma worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests_support import REDIS_URL, need_service

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.workspaces import create_api_key


def _wait(predicate: Any, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_api_schedule_published_by_embedded_worker(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    key = create_api_key(ocma, workspace_id, role=Role.EDITOR).key
    auth = {"Authorization": f"Bearer {key}"}
    when = utcnow() + timedelta(seconds=1)
    with TestClient(create_app(ocma, run_worker=True)) as client:
        ready = client.get("/readyz")
        created = client.post(
            "/v1/posts",
            headers=auth,
            json={
                "body": "From the API",
                "account_ids": [account_id],
                "action": "schedule",
                "scheduled_at": when.isoformat(),
            },
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        assert created.json()["status"] == "scheduled"
        assert _wait(lambda: client.get(f"/v1/posts/{post_id}", headers=auth).json()["status"] == "published")
        body = client.get(f"/v1/posts/{post_id}", headers=auth).json()
        metrics = client.get("/metrics").text
    assert ready.status_code in (200, 503)
    target = body["targets"][0]
    assert target["url"].startswith("https://fakesocial.test/p/")
    published_at = posts.targets_of(ocma, post_id)[0].published_at
    assert published_at is not None and published_at >= when  # never early; lateness: benchmarks/
    assert fake.published_texts() == ["From the API"]
    assert 'ocma_targets_published_total{platform="fakesocial"}' in metrics


def test_api_validation_problems_per_target(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    key = create_api_key(ocma, workspace_id, role=Role.EDITOR).key
    with TestClient(create_app(ocma, run_worker=False)) as client:
        response = client.post(
            "/v1/posts",
            headers={"Authorization": f"Bearer {key}"},
            json={"body": "z" * 600, "account_ids": [account_id], "action": "publish_now"},
        )
        check = client.post(
            "/v1/posts/check",
            headers={"Authorization": f"Bearer {key}"},
            json={"platform": "fakesocial", "text": "z" * 600},
        )
        bad = client.post("/v1/posts", headers={"Authorization": f"Bearer {key}"}, json={"body": 5})
    assert response.status_code == 422
    problem = response.json()
    assert problem["problems"][0]["platform"] == "fakesocial" and problem["problems"][0]["code"] == "too_long"
    assert check.json()["length"] == 600 and check.json()["limit"] == 500 and not check.json()["ok"]
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


@pytest.mark.timeout(300)  # three processes start on a shared machine
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_cli_schedule_published_by_ocma_worker_with_redis(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, tmp_path: Path
) -> None:
    need_service("redis", REDIS_URL)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    example = str(Path(__file__).parent / "example_platform")
    env = {
        **os.environ,
        "OCMA_DATABASE_URL": ocma.settings.resolved_database_url,
        "OCMA_ENCRYPTION_KEYS": ocma.settings.encryption_keys or "",
        "OCMA_REDIS_URL": REDIS_URL,
        "OCMA_DATA_DIR": str(tmp_path),
        "OCMA_LOAD_PLUGINS": "",
        "OCMA_PLUGIN_MODULES": "ocma_example_platform",
        "PYTHONPATH": example,
        "OCMA_WORKER_HEARTBEAT_S": "0.5",
    }
    cli = [sys.executable, "-m", "ocma_core.cli"]
    worker = subprocess.Popen(
        [*cli, "worker", "--processes", "2", "--concurrency", "8"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        from ocma_core.services.status import engine_status

        def registered() -> bool:
            if worker.poll() is not None:  # it died: say why instead of waiting out the timeout
                raise AssertionError(
                    f"ocma worker exited with {worker.returncode}: {worker.communicate()[0]}"
                )
            return len(engine_status(ocma)["workers"]) == 2

        if not _wait(registered, timeout=90):
            worker.terminate()
            raise AssertionError(
                f"workers not registered in 90 s; their output: {worker.communicate()[0][-4000:]}"
            )
        when = (utcnow() + timedelta(seconds=8)).isoformat()
        out = subprocess.run(
            [*cli, "posts", "create", "From the CLI", "-a", account_id, "--at", when],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert "is scheduled" in out.stdout
        assert _wait(lambda: fake.published_texts() == ["From the CLI"], timeout=30)
        status = subprocess.run(
            [*cli, "status", "--json"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    post = posts.list_posts(ocma, workspace_id)[0]
    target = posts.targets_of(ocma, post.id)[0]
    assert target.published_at is not None
    assert target.published_at >= post.scheduled_at  # type: ignore[operator]
    assert '"kind": "redis"' in status.stdout and '"worker"' in status.stdout
