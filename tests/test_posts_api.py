"""The posts API lifecycle: draft, edit, approve (admins only), publish, cancel, retry, failed list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests_support import run_worker

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.workspaces import create_api_key, update_settings


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


def _auth(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


def test_draft_edit_approve_publish(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    editor, admin = _auth(ocma, workspace_id, Role.EDITOR), _auth(ocma, workspace_id, Role.ADMIN)
    update_settings(ocma, workspace_id, approval_required=True)
    draft = client.post("/v1/posts", headers=editor, json={"body": "v1", "account_ids": [account_id]}).json()
    assert draft["status"] == "draft" and draft["targets"][0]["status"] == "draft"
    when = (utcnow() + timedelta(hours=1)).isoformat()
    edited = client.put(
        f"/v1/posts/{draft['id']}",
        headers=editor,
        json={"body": "v2", "account_ids": [account_id], "action": "schedule", "scheduled_at": when},
    )
    assert edited.json()["status"] == "pending_approval" and edited.json()["body"] == "v2"
    refused = client.post(f"/v1/posts/{draft['id']}/approve", headers=editor)
    assert refused.status_code == 403
    approved = client.post(f"/v1/posts/{draft['id']}/approve", headers=admin).json()
    assert approved["status"] == "scheduled" and approved["targets"][0]["status"] == "queued"
    again = client.post(f"/v1/posts/{draft['id']}/approve", headers=admin)
    assert again.status_code == 409 and "not waiting for approval" in again.json()["detail"]
    now = client.post(f"/v1/posts/{draft['id']}/publish", headers=editor).json()
    assert now["status"] == "scheduled"
    run_worker(ocma, lambda: posts.get_post(ocma, workspace_id, draft["id"]).status.value == "published")
    assert fake.published_texts() == ["v2"]
    done = client.post(f"/v1/posts/{draft['id']}/cancel", headers=editor)
    assert done.status_code == 409


def test_cancel_retry_and_failed_list(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    editor = _auth(ocma, workspace_id, Role.EDITOR)
    when = (utcnow() + timedelta(hours=2)).isoformat()
    later = client.post(
        "/v1/posts",
        headers=editor,
        json={"body": "Not today", "account_ids": [account_id], "action": "schedule", "scheduled_at": when},
    ).json()
    cancelled = client.post(f"/v1/posts/{later['id']}/cancel", headers=editor).json()
    assert cancelled["status"] == "cancelled" and cancelled["targets"][0]["status"] == "cancelled"
    nothing = client.post(f"/v1/posts/{later['id']}/retry", headers=editor)
    assert nothing.status_code == 409 and "Nothing to retry" in nothing.json()["detail"]
    fake.fail_next("duplicate")
    post = client.post(
        "/v1/posts",
        headers=editor,
        json={"body": "Duplicate at first", "account_ids": [account_id], "action": "publish_now"},
    ).json()
    run_worker(ocma, lambda: posts.get_post(ocma, workspace_id, post["id"]).status.value == "failed")
    failed = client.get("/v1/posts/failed", headers=editor).json()
    assert [f["post_id"] for f in failed] == [post["id"]] and "duplicate" in failed[0]["error"]
    retried = client.post(f"/v1/posts/{post['id']}/retry", headers=editor).json()
    assert retried["targets"][0]["status"] == "queued"
    run_worker(ocma, lambda: posts.get_post(ocma, workspace_id, post["id"]).status.value == "published")
    assert client.get("/v1/posts/failed", headers=editor).json() == []
    listed = client.get("/v1/posts", headers=editor, params={"status": "published"}).json()
    assert [p["id"] for p in listed] == [post["id"]]
