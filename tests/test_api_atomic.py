"""Multi-row writes through the API commit all or nothing: a refused experiment leaves no experiment, no post."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.analytics_models import Experiment, ExperimentVariant
from ocma_core.db.models import Post, Role, Target
from ocma_core.db.types import utcnow
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def client(ocma: Ocma, fake: Any) -> Iterator[TestClient]:
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c


def _counts(ocma: Ocma) -> dict[str, int]:
    with ocma.session() as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Experiment, ExperimentVariant, Post, Target)
        }


def _variants(account_id: str, second: dict[str, Any]) -> list[dict[str, Any]]:
    soon = (utcnow() + timedelta(hours=3)).isoformat()
    return [{"label": "A", "body": "Variant A", "account_ids": [account_id], "scheduled_at": soon}, second]


@pytest.mark.parametrize(
    ("second", "status"),
    [
        ({"label": "B", "body": "Variant B", "account_ids": ["no-such-account"]}, 404),
        ({"label": "B", "body": "x" * 501}, 422),  # FakeSocial allows 500 characters; scheduled: validated
        ({"label": "A", "body": "Same label"}, 422),
    ],
    ids=["unknown-account", "too-long-for-the-platform", "duplicate-label"],
)
def test_a_refused_experiment_leaves_nothing_behind(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, second: dict[str, Any], status: int
) -> None:
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    if second["body"] == "x" * 501:
        second = {**second, "scheduled_at": (utcnow() + timedelta(hours=4)).isoformat()}
    before, queued = _counts(ocma), ocma.queue.depth()  # the embedded queue is shared by the process
    answer = client.post(
        "/v1/experiments",
        headers=editor,
        json={"name": "Hook test", "account_ids": [account_id], "variants": _variants(account_id, second)},
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert _counts(ocma) == before
    assert ocma.queue.depth() == queued  # nothing was enqueued either


def test_a_variant_with_a_time_but_no_accounts_is_a_422_naming_it(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    soon = (utcnow() + timedelta(hours=3)).isoformat()
    before = _counts(ocma)
    answer = client.post(
        "/v1/experiments",
        headers=editor,
        json={
            "name": "No accounts",
            "variants": [
                {"label": "A", "body": "a"},
                {"label": "B", "body": "b", "scheduled_at": soon},
            ],
        },
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["detail"].startswith("Variant B:") and problem["fix"]
    assert problem["problems"][0]["variant"] == "B"
    assert _counts(ocma) == before


def test_a_valid_experiment_commits_every_variant(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    queued = ocma.queue.depth()
    answer = client.post(
        "/v1/experiments",
        headers=editor,
        json={
            "name": "Fine",
            "account_ids": [account_id],
            "variants": _variants(account_id, {"label": "B", "body": "Variant B"}),
        },
    )
    assert answer.status_code == 201, answer.text
    labels = [v["label"] for v in answer.json()["variants"]]
    assert labels == ["A", "B"]
    # The scheduled variant's target is due in 3 h: it waits in the database, and the worker's reconciler puts
    # it on the queue when it comes near (the queue holds only what is due within AHEAD_S).
    assert ocma.queue.depth() == queued
    from ocma_core.engine.transitions import due_targets

    assert len(due_targets(ocma, timedelta(hours=4))) == 1
    statuses = {
        v["label"]: client.get(f"/v1/posts/{v['post_id']}", headers=editor).json()["status"]
        for v in answer.json()["variants"]
    }
    assert statuses == {"A": "scheduled", "B": "draft"}
