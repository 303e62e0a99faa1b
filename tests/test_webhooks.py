"""Platform webhooks through the HTTP API: X's CRC handshake, signature checks, metric updates stored."""

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

ocma_x = pytest.importorskip("ocma_x", reason="the X plugin (plugins/platforms/x) is not installed")
SECRET = "consumer-secret-for-tests"


@pytest.fixture
def client(ocma: Ocma, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from ocma_core.registry import clear_caches

    monkeypatch.setenv("OCMA_X_CONSUMER_SECRET", SECRET)
    plugin_host.register(ocma_x, name="ocma_x")
    clear_caches()
    with TestClient(create_app(ocma, run_worker=False)) as c:
        yield c
    clear_caches()


def _sign(body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def test_crc_handshake(client: TestClient) -> None:
    response = client.get("/webhooks/x", params={"crc_token": "challenge123"})
    assert response.status_code == 200
    assert response.json() == {"response_token": _sign(b"challenge123")}
    assert client.get("/webhooks/x").status_code == 400


def test_signed_delivery_is_accepted_and_forged_one_refused(client: TestClient) -> None:
    body = json.dumps({"for_user_id": "42", "favorite_events": []}).encode()
    ok = client.post("/webhooks/x", content=body, headers={"x-twitter-webhooks-signature": _sign(body)})
    assert ok.status_code == 200 and ok.json()["stored"] == 0
    forged = client.post(
        "/webhooks/x", content=body, headers={"x-twitter-webhooks-signature": _sign(b"other")}
    )
    assert forged.status_code == 401


def test_platform_without_webhooks_is_404(client: TestClient) -> None:
    assert client.get("/webhooks/fakesocial", params={"crc_token": "x"}).status_code == 404
    assert client.post("/webhooks/nonexistent", content=b"{}").status_code == 404


def test_a_receiver_plugin_not_installed_says_which_to_install(client: TestClient) -> None:
    response = client.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})
    assert response.status_code == 404 and "ocma-stripe" in response.json()["detail"]


def test_a_delivery_that_failed_to_be_stored_is_taken_again_on_retry(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.services import metrics

    body = json.dumps({"for_user_id": "42", "favorite_events": []}).encode()
    headers = {"x-twitter-webhooks-signature": _sign(body)}
    real = metrics.ingest_webhook

    def down(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(metrics, "ingest_webhook", down)
    assert client.post("/webhooks/x", content=body, headers=headers).status_code == 500
    monkeypatch.setattr(metrics, "ingest_webhook", real)
    retried = client.post("/webhooks/x", content=body, headers=headers)  # X retries the same delivery
    assert retried.status_code == 200 and "duplicate" not in retried.json()
    again = client.post("/webhooks/x", content=body, headers=headers)
    assert again.json()["duplicate"] == 1  # once handled, a replay is still a duplicate


def test_the_platform_is_served_by_its_receiver_with_its_outcomes_counted(client: TestClient) -> None:
    from ocma_core.observe.instruments import REGISTRY
    from ocma_core.plugins import plugin_listing
    from ocma_core.webhook_receivers import receivers

    x = receivers()["x"]
    assert x.challenge is not None
    assert x.challenge({"crc_token": "c"}) == (200, {"response_token": _sign(b"c")})
    (row,) = [r for r in plugin_listing() if r["name"] == "ocma_x"]
    assert row["registered"]["webhook receiver"] == ["x"]  # listed as the X plugin's, by `ocma plugins`

    def count(outcome: str) -> float:
        labels = {"platform": "x", "outcome": outcome}
        return REGISTRY.get_sample_value("ocma_webhook_deliveries_total", labels) or 0.0

    before = {outcome: count(outcome) for outcome in ("stored", "duplicate", "bad_signature")}
    body = json.dumps({"for_user_id": "7", "favorite_events": []}).encode()
    for signature in (_sign(body), _sign(body), _sign(b"other")):
        client.post("/webhooks/x", content=body, headers={"x-twitter-webhooks-signature": signature})
    assert {outcome: count(outcome) - seen for outcome, seen in before.items()} == dict.fromkeys(before, 1.0)
