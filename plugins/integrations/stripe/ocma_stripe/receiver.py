"""POST /webhooks/stripe: a verified Stripe event that a marketing team cares about becomes an OCMA event
(stored once per Stripe event id, then streamed, sent to webhooks and handed to plugins); other types are
acknowledged and dropped. Configuration, read from the environment like every OCMA setting:

- `OCMA_STRIPE_WEBHOOK_SECRET`: the endpoint's signing secret(s) (`whsec_...`; several, comma-separated,
  while Stripe rolls the secret);
- `OCMA_STRIPE_WORKSPACE`: the id of the workspace the events belong to (default: the only one)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from ocma_core.app import Ocma
from ocma_core.app.events import Event, dispatch, record_once
from ocma_core.app.web import WebhookRefused
from ocma_core.app.workspaces import get_workspace, resolve_workspace
from ocma_core.errors import OcmaError
from ocma_stripe.signature import SignatureError, verify

SECRET_ENV = "OCMA_STRIPE_WEBHOOK_SECRET"
WORKSPACE_ENV = "OCMA_STRIPE_WORKSPACE"

# Stripe event type -> OCMA event kind.
KINDS: dict[str, str] = {
    "checkout.session.completed": "stripe.checkout_completed",
    "payment_intent.succeeded": "stripe.payment_succeeded",
    "customer.subscription.created": "stripe.subscription_created",
    "customer.subscription.deleted": "stripe.subscription_cancelled",
    "charge.refunded": "stripe.refunded",
}


def secrets() -> list[str]:
    """The configured signing secrets."""
    return [s.strip() for s in os.environ.get(SECRET_ENV, "").split(",") if s.strip()]


def _amount(obj: dict[str, Any], stripe_type: str) -> Any:
    if stripe_type == "checkout.session.completed":
        return obj.get("amount_total")
    if stripe_type == "payment_intent.succeeded":
        return obj.get("amount_received", obj.get("amount"))
    if stripe_type == "charge.refunded":
        return obj.get("amount_refunded")
    items = (obj.get("items") or {}).get("data") or [{}]
    return ((items[0] or {}).get("price") or {}).get("unit_amount")


def payload_of(event: dict[str, Any]) -> dict[str, Any]:
    """What the OCMA event carries: ids, amount in the currency's minor unit, currency, customer id."""
    stripe_type = str(event["type"])
    obj = event["data"]["object"]
    payload: dict[str, Any] = {
        "stripe_event_id": str(event["id"]),
        "stripe_type": stripe_type,
        "object_id": str(obj.get("id", "")),
        "livemode": bool(event.get("livemode", False)),
    }
    created = event.get("created")
    if isinstance(created, int):
        payload["stripe_created"] = datetime.fromtimestamp(created, UTC).isoformat()
    amount = _amount(obj, stripe_type)
    if isinstance(amount, int):
        payload["amount"] = amount
    for field in ("currency", "customer", "status"):
        if isinstance(obj.get(field), str):
            payload[field] = obj[field]
    items = (obj.get("items") or {}).get("data") or []
    if stripe_type.startswith("customer.subscription") and items:
        price = (items[0] or {}).get("price") or {}
        payload["price_id"] = str(price.get("id", ""))
        payload["currency"] = str(price.get("currency", payload.get("currency", "")))
    return payload


def _workspace_id(ocma: Ocma) -> str:
    """The workspace named by id in OCMA_STRIPE_WORKSPACE (never by name: a workspace admin can rename theirs),
    or the only workspace when it is unset. Misconfiguration is a 503, so Stripe retries once it is fixed."""
    wanted = (os.environ.get(WORKSPACE_ENV) or "").strip()
    try:
        return (get_workspace(ocma, wanted) if wanted else resolve_workspace(ocma, None)).id
    except OcmaError:
        found = "is not a workspace id" if wanted else "is unset and there is not exactly one workspace"
        raise WebhookRefused(
            f"{WORKSPACE_ENV} {found}: set it to the id of the workspace Stripe events belong to "
            "(`ocma workspaces list`).",
            503,
        ) from None


def handle(ocma: Ocma, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Verify the delivery (Stripe-Signature on the raw body), then store the event once."""
    try:
        verify(headers.get("stripe-signature", ""), body, secrets())
    except SignatureError as exc:
        raise WebhookRefused(str(exc), 400, outcome="bad_signature") from None
    try:
        event = json.loads(body)
        stripe_id, stripe_type = str(event["id"]), str(event["type"])
        payload = payload_of(event) if stripe_type in KINDS else {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise WebhookRefused("Not a Stripe event (JSON with id, type and data.object).", 400) from None
    if stripe_type not in KINDS:
        return {"received": True, "recorded": False, "ignored": stripe_type[:100]}
    workspace_id = _workspace_id(ocma)
    with ocma.session() as session:
        stored = record_once(session, Event(KINDS[stripe_type], workspace_id, payload), "stripe:" + stripe_id)
    if stored is not None:
        dispatch(stored, ocma)
    return {"received": True, "recorded": stored is not None, "duplicate": stored is None}
