"""The events added with the event log, at the moments the code already has: approval requested and given,
metrics changed (new values and delta)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.eventlog import read
from ocma_core.platforms.types import MetricsSnapshot
from ocma_core.services import posts
from ocma_core.services.metrics import store_account_snapshot, store_post_snapshot
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import update_settings


def _kinds(ocma: Ocma, workspace_id: str) -> list[str]:
    return [e.kind for e in read(ocma, workspace_id)]


def test_approval_is_requested_then_given(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> None:
    update_settings(ocma, workspace_id, approval_required=True)
    data = PostInput(body="Needs a yes", account_ids=[account_id], action="publish_now")
    post = posts.create_post(ocma, workspace_id, data)
    asked = [e for e in read(ocma, workspace_id) if e.kind == "post.approval_requested"]
    assert [e.payload["post_id"] for e in asked] == [post.id]
    posts.approve_post(ocma, workspace_id, post.id)
    approved = [e for e in read(ocma, workspace_id) if e.kind == "post.approved"]
    assert [e.payload["post_id"] for e in approved] == [post.id]
    assert approved[0].payload["post_status"] in ("scheduled", "publishing")


def test_metrics_updated_carries_values_and_delta(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    data = PostInput(body="Measured", account_ids=[account_id], action="draft")
    post = posts.create_post(ocma, workspace_id, data)
    target = posts.targets_of(ocma, post.id)[0]
    first = utcnow() - timedelta(minutes=10)
    for at, likes in ((first, 3.0), (first + timedelta(minutes=5), 3.0), (utcnow(), 7.0)):
        snap = MetricsSnapshot(values={"likes": likes}, fetched_at=at)
        store_post_snapshot(ocma, target.id, account_id, "fakesocial", snap, "poll")
    updates = [e.payload for e in read(ocma, workspace_id) if e.kind == "metrics.updated"]
    assert [(u["values"], u["delta"]) for u in updates] == [
        ({"likes": 3.0}, {}),
        ({"likes": 7.0}, {"likes": 4.0}),
    ]
    assert updates[0]["first"] is True and updates[1]["post_id"] == post.id and updates[1]["scope"] == "post"
    store_account_snapshot(
        ocma, account_id, "fakesocial", MetricsSnapshot(values={"followers": 10.0}, fetched_at=utcnow())
    )
    assert _kinds(ocma, workspace_id)[-1] == "metrics.updated"
    assert read(ocma, workspace_id)[-1].payload["scope"] == "account"
