"""Stripe's webhook signature, as Stripe documents it (docs.stripe.com/webhooks, "Verify signatures
manually"): the `Stripe-Signature` header is `t=<unix time>,v1=<hex>[,v1=<hex>...][,v0=...]`; each `v1` is
the hex HMAC-SHA256 of `<t>.<raw body>` keyed with the endpoint's signing secret (`whsec_...`, the whole
string). A delivery is genuine when any `v1` matches under any configured secret (several during a roll of
the secret), compared in constant time, and its timestamp is within the tolerance (5 minutes, Stripe's
libraries' default) so a captured delivery cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

TOLERANCE_S = 300
_DIGITS = re.compile(r"[0-9]{1,12}")  # a unix time; a longer one is refused, not parsed
_HEX = re.compile(r"[0-9a-f]{64}")


class SignatureError(ValueError):
    """The header is missing or malformed, no signature matches, or the timestamp is outside the tolerance."""


def compute(secret: str, timestamp: int, payload: bytes) -> str:
    """The `v1` signature of `payload` sent at `timestamp`: hex HMAC-SHA256 of "t.payload" under `secret`."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def parse(header: str) -> tuple[int, list[str]]:
    """The timestamp and the `v1` signatures of a Stripe-Signature header."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and _DIGITS.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and _HEX.fullmatch(value):  # anything else can match no HMAC: not compared at all
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("Stripe-Signature has no timestamp or no v1 signature.")
    return timestamp, signatures


def verify(
    header: str, payload: bytes, secrets: list[str], tolerance_s: int = TOLERANCE_S, now: float | None = None
) -> int:
    """Check a delivery; its timestamp, or SignatureError saying why it is refused."""
    if not secrets:
        raise SignatureError("No Stripe signing secret is configured (OCMA_STRIPE_WEBHOOK_SECRET).")
    timestamp, signatures = parse(header)
    expected = [compute(secret, timestamp, payload) for secret in secrets]
    if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
        raise SignatureError("No Stripe-Signature v1 signature matches the payload.")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance_s:
        raise SignatureError(
            f"The delivery's timestamp is {int(age)} s from now, outside the {tolerance_s} s tolerance."
        )
    return timestamp
