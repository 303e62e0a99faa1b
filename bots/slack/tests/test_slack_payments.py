"""Payment events (ocma-stripe's stripe.* kinds) are announced with the amount as the customer paid it."""

from __future__ import annotations

from ocma_slack.notify import message_for
from ocma_slack.payments import money


def test_amounts_in_the_currencys_own_unit() -> None:
    assert money(4900, "eur") == "49.00 EUR"
    assert money(500, "jpy") == "500 JPY"
    assert money(1234, "kwd") == "1.234 KWD"
    assert money(None, "usd") == ""


def test_a_sale_and_a_cancellation_are_announced() -> None:
    sale = {
        "amount": 4900,
        "currency": "eur",
        "livemode": True,
        "stripe_type": "checkout.session.completed",
        "object_id": "cs_1",
    }
    built = message_for(None, "stripe.checkout_completed", sale)  # type: ignore[arg-type]
    assert built is not None and built[0] == "New sale: 49.00 EUR"
    assert "cs_1" in str(built[1])
    gone = message_for(None, "stripe.subscription_cancelled", {"livemode": False})  # type: ignore[arg-type]
    assert gone is not None and gone[0] == "Subscription cancelled (Stripe test mode)"
    assert message_for(None, "stripe.unknown", {}) is None  # type: ignore[arg-type]
