"""Notices for payment events (the `stripe.*` kinds of the ocma-stripe plugin): a sale, a new or cancelled
subscription, a refund, with the amount as the customer paid it."""

from __future__ import annotations

from typing import Any

# Stripe sends amounts in the currency's smallest unit; these have none or three decimals (Stripe's docs,
# "Zero-decimal currencies" and "Three-decimal currencies"), every other has two.
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
LINES = {
    "stripe.checkout_completed": (":moneybag:", "New sale"),
    "stripe.payment_succeeded": (":moneybag:", "Payment received"),
    "stripe.subscription_created": (":tada:", "New subscription"),
    "stripe.subscription_cancelled": (":wave:", "Subscription cancelled"),
    "stripe.refunded": (":leftwards_arrow_with_hook:", "Refund"),
}


def money(amount: Any, currency: Any) -> str:
    """`49.00 EUR` from Stripe's 4900 and "eur" (empty when the amount is unknown)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        return ""
    code = str(currency or "").lower()
    places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    value = f"{amount / 10**places:.{places}f}" if places else str(amount)
    return f"{value} {code.upper()}".strip()


def payment_message(kind: str, payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """The notice for a payment event, or None for a kind that is not one."""
    if kind not in LINES:
        return None
    emoji, title = LINES[kind]
    amount = money(payload.get("amount"), payload.get("currency"))
    test = "" if payload.get("livemode") else " (Stripe test mode)"
    text = f"{title}{': ' + amount if amount else ''}{test}"
    detail = f"Stripe {payload.get('stripe_type', '')} `{payload.get('object_id', '')}`"
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{text}*\n{detail}"[:3000]}}
    ]
