"""OCMA integration for Stripe: `POST /webhooks/stripe` verifies `Stripe-Signature` and turns a completed
checkout, a successful payment, a new or cancelled subscription and a refund into OCMA events
(`stripe.*`, declared below with their payload schemas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocma_core import EventKind, hookimpl
from ocma_core.app.web import WebhookReceiver
from ocma_stripe.receiver import handle

_S: dict[str, Any] = {"type": "string"}
# "x-personal": about one customer; the agent's tools and automations never hand it to a model.
_COMMON = {
    "stripe_event_id": _S,
    "stripe_type": _S,
    "object_id": {
        "type": "string",
        "description": "the checkout session, payment, subscription or refund id (one customer's)",
        "x-personal": True,
    },
    "livemode": {"type": "boolean"},
}
_MONEY = {
    "amount": {
        "type": "integer",
        "description": "in the currency's smallest unit (cents), as Stripe sends it",
        "x-personal": True,
    },
    "currency": {"type": "string", "description": "ISO code, lower case"},
    "customer": {"type": "string", "description": "Stripe customer id (cus_...)", "x-personal": True},
    "stripe_created": {"type": "string", "format": "date-time"},
}


def _schema(**extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": sorted(_COMMON), "properties": {**_COMMON, **_MONEY, **extra}}


KIND_LIST = [
    EventKind("stripe.checkout_completed", "a Stripe Checkout session was completed", _schema(status=_S)),
    EventKind("stripe.payment_succeeded", "a Stripe payment succeeded", _schema(status=_S)),
    EventKind(
        "stripe.subscription_created",
        "a Stripe subscription was started (amount: the plan's unit price)",
        _schema(status=_S, price_id=_S),
    ),
    EventKind(
        "stripe.subscription_cancelled",
        "a Stripe subscription ended (amount: the plan's unit price)",
        _schema(status=_S, price_id=_S),
    ),
    EventKind(
        "stripe.refunded", "a Stripe charge was refunded (amount: refunded so far)", _schema(status=_S)
    ),
]


@hookimpl
def register_event_kinds(register: Callable[[EventKind], None]) -> None:
    """The stripe.* kinds."""
    for kind in KIND_LIST:
        register(kind)


@hookimpl
def register_webhook_receivers(register: Callable[[WebhookReceiver], None]) -> None:
    """POST /webhooks/stripe."""
    register(WebhookReceiver("stripe", handle, "Stripe events, verified with Stripe-Signature"))
