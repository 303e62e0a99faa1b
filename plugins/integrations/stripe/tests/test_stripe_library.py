"""Our Stripe-Signature against Stripe's own library (the `stripe` package, a dev dependency only, used offline):
what we sign, Stripe's library verifies; what Stripe's library signs, we verify, over the HTTP route too, where
a signed event is taken once and a replay, a stale copy and a bad signature are refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from ocma_stripe.signature import SignatureError, compute, verify

SECRET = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
EVENT: dict[str, Any] = {
    "id": "evt_1QxLib000000000001",
    "object": "event",
    "type": "payment_intent.succeeded",
    "created": 1764763200,
    "livemode": False,
    "data": {
        "object": {
            "id": "pi_test_1",
            "object": "payment_intent",
            "amount_received": 1999,
            "currency": "eur",
            "customer": "cus_TEST2",
            "status": "succeeded",
            "description": "Caf\u00e9 \u2615 for Zo\u00eb",  # not ASCII: both sign the UTF-8 bytes
        }
    },
}
BODY = json.dumps(EVENT, ensure_ascii=False).encode("utf-8")


def ours(payload: bytes, timestamp: int, *secrets: str) -> str:
    """A Stripe-Signature header made with ocma_stripe's signer, one v1 per secret."""
    return f"t={timestamp}," + ",".join(f"v1={compute(s, timestamp, payload)}" for s in secrets or (SECRET,))


def stripes(payload: bytes, timestamp: int | None = None, secret: str = SECRET) -> str:
    """A Stripe-Signature header made by Stripe's library."""
    return stripe.WebhookSignature.generate_signature_header(payload.decode("utf-8"), secret, timestamp)


def test_what_we_sign_stripes_library_verifies() -> None:
    now = int(time.time())
    assert stripe.WebhookSignature.verify_header(BODY, ours(BODY, now), SECRET, 300) is True
    event = stripe.Webhook.construct_event(BODY, ours(BODY, now), SECRET)
    assert event.id == EVENT["id"] and event.type == EVENT["type"]
    rolled = ours(BODY, now, "whsec_previous", SECRET)  # several v1 while the secret rolls
    assert stripe.WebhookSignature.verify_header(BODY, rolled, SECRET, 300) is True
    for forged, secret in [(BODY + b" ", SECRET), (BODY, "whsec_other")]:  # both refuse the same forgeries
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(forged, ours(BODY, now), secret, 300)
        with pytest.raises(SignatureError):
            verify(ours(BODY, now), forged, [secret])
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.WebhookSignature.verify_header(BODY, ours(BODY, now - 301), SECRET, 300)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(ours(BODY, now - 301), BODY, [SECRET])


def test_what_stripes_library_signs_we_verify() -> None:
    now = int(time.time())
    assert verify(stripes(BODY, now), BODY, [SECRET]) == now
    assert verify(stripes(BODY, 1700000000), BODY, ["whsec_new", SECRET], now=1700000100) == 1700000000
    with pytest.raises(SignatureError, match="matches"):
        verify(stripes(BODY, secret="whsec_other"), BODY, [SECRET])


@settings(max_examples=200, deadline=None)
@given(
    payload=st.text(),
    timestamp=st.integers(min_value=0, max_value=10**12 - 1),
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1),
)
def test_both_agree_on_any_payload_time_and_secret(payload: str, timestamp: int, secret: str) -> None:
    body, key = payload.encode("utf-8"), "whsec_" + secret
    assert stripes(body, timestamp, key) == ours(body, timestamp, key)
    assert verify(stripes(body, timestamp, key), body, [key], now=timestamp) == timestamp
    assert stripe.WebhookSignature.verify_header(body, ours(body, timestamp, key), key, None) is True


def test_an_event_signed_by_stripes_library_is_taken_once_over_http(
    ocma: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.api.app import create_app
    from ocma_core.eventlog import read
    from ocma_core.observe.instruments import REGISTRY
    from ocma_core.services.workspaces import create_workspace

    def bad_signatures() -> float:
        labels = {"platform": "stripe", "outcome": "bad_signature"}
        return REGISTRY.get_sample_value("ocma_webhook_deliveries_total", labels) or 0.0

    monkeypatch.setenv("OCMA_STRIPE_WEBHOOK_SECRET", SECRET)
    workspace = create_workspace(ocma, "Shop", timezone="UTC", owner_email="o@example.com")
    signed = {"Stripe-Signature": stripes(BODY), "Content-Type": "application/json"}
    refused_before = bad_signatures()
    with TestClient(create_app(ocma, run_worker=False)) as client:
        first = client.post("/webhooks/stripe", content=BODY, headers=signed)
        assert first.status_code == 200, first.text
        assert first.json() == {"received": True, "recorded": True, "duplicate": False}
        replay = client.post("/webhooks/stripe", content=BODY, headers=signed)  # the same request again
        assert replay.status_code == 200 and replay.json()["recorded"] is False
        stale = {"Stripe-Signature": stripes(BODY, int(time.time()) - 3600)}  # captured an hour ago
        assert client.post("/webhooks/stripe", content=BODY, headers=stale).status_code == 400
        wrong = {"Stripe-Signature": stripes(BODY, secret="whsec_attacker")}
        forged = client.post("/webhooks/stripe", content=BODY, headers=wrong)
        assert forged.status_code == 400 and "matches" in forged.json()["detail"]
        tampered = BODY.replace(b"1999", b"9999")
        assert client.post("/webhooks/stripe", content=tampered, headers=signed).status_code == 400
    assert bad_signatures() - refused_before == 3.0
    (event,) = read(ocma, workspace.id)
    assert event.kind == "stripe.payment_succeeded"
    assert (event.payload["stripe_event_id"], event.payload["amount"]) == (EVENT["id"], 1999)
