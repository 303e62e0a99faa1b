"""Finding "forged webhooks": the handshake answers only the platform's documented challenge form (never a
signature for a chosen payload), deliveries are stored once (replays refused), bodies are capped before the
signature check, and webhook metrics never exceed what the platform's API confirmed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.plugins import PluginHost

ocma_x = pytest.importorskip("ocma_x")
ocma_linkedin = pytest.importorskip("ocma_linkedin")
SECRET = "consumer-secret-for-tests"
FORGED = json.dumps(
    {
        "for_user_id": "42",
        "favorite_events": [{"favorited_status": {"id_str": "1", "favorite_count": 123456789}}],
    }
)


@pytest.fixture
def client(ocma: Ocma, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from ocma_core.registry import clear_caches

    monkeypatch.setenv("OCMA_X_CONSUMER_SECRET", SECRET)
    monkeypatch.setenv("OCMA_LINKEDIN_CLIENT_SECRET", SECRET)
    plugin_host.register(ocma_x, name="ocma_x")
    plugin_host.register(ocma_linkedin, name="ocma_linkedin")
    clear_caches()
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c
    clear_caches()


def _sign(body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def test_the_x_crc_signs_no_chosen_payload(client: TestClient) -> None:
    answer = client.get("/webhooks/x", params={"crc_token": FORGED})
    assert answer.status_code == 400 and _sign(FORGED.encode()) not in answer.text


def test_the_linkedin_challenge_signs_only_a_uuid(client: TestClient) -> None:
    forged = client.get("/webhooks/linkedin", params={"challengeCode": "hmacsha256=" + FORGED})
    assert forged.status_code == 400
    real = client.get("/webhooks/linkedin", params={"challengeCode": "f1e2d3c4-b5a6-4789-8abc-def012345678"})
    assert real.status_code == 200 and real.json()["challengeCode"].startswith("f1e2d3c4")


def test_a_replayed_delivery_is_not_processed_twice(client: TestClient) -> None:
    body = json.dumps({"for_user_id": "42", "favorite_events": []}).encode()
    headers = {"x-twitter-webhooks-signature": _sign(body)}
    first = client.post("/webhooks/x", content=body, headers=headers)
    again = client.post("/webhooks/x", content=body, headers=headers)
    assert first.status_code == 200 and "duplicate" not in first.json()
    assert again.status_code == 200 and again.json() == {"events": 0, "stored": 0, "duplicate": 1}


def test_an_oversized_body_is_refused_before_the_signature_check(client: TestClient) -> None:
    from ocma_core.api.routes_webhooks import MAX_WEBHOOK_BYTES

    body = b"{" + b" " * MAX_WEBHOOK_BYTES + b"}"
    answer = client.post("/webhooks/x", content=body, headers={"x-twitter-webhooks-signature": _sign(body)})
    assert answer.status_code == 413


def test_webhook_metrics_are_bounded_by_what_the_api_confirmed(
    ocma: Ocma, workspace_id: str, account_id: str, fake: object
) -> None:
    from datetime import timedelta

    from tests_support import run_worker

    from ocma_core.db.types import utcnow
    from ocma_core.platforms import MetricsSnapshot, WebhookEvent
    from ocma_core.services import metrics, posts
    from ocma_core.services.post_input import PostInput

    post = posts.create_post(
        ocma, workspace_id, PostInput(body="hi", account_ids=[account_id], action="publish_now")
    )
    run_worker(ocma, lambda: posts.get_post(ocma, workspace_id, post.id).status.value == "published")
    (target,) = posts.targets_of(ocma, post.id)
    inflated = [
        WebhookEvent(kind="like", external_post_id=target.external_id, metrics={"likes": 123456789.0})
    ]
    assert metrics.ingest_webhook(ocma, "fakesocial", inflated) == 0
    api = MetricsSnapshot(values={"likes": 12.0}, fetched_at=utcnow() - timedelta(minutes=1))
    metrics.store_post_snapshot(ocma, target.id, target.account_id, "fakesocial", api, "poll")
    assert metrics.ingest_webhook(ocma, "fakesocial", inflated) == 1
    from sqlmodel import select

    from ocma_core.db.models import PostMetricSnapshot

    with ocma.session() as session:
        hooked = session.exec(select(PostMetricSnapshot).where(PostMetricSnapshot.source == "webhook")).one()
    assert hooked.values == {"likes": 12.0}
