"""Mastodon admin webhooks (Administration -> Webhooks): signature check and event parsing.

These are instance-wide and only an instance admin can create them. Each POST carries
`X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>` and a body
`{"event": "status.created", "created_at": ..., "object": {...}}`. There is no handshake.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from ocma_core import WebhookEvent, numeric_values

STATUS_EVENTS = ("status.created", "status.updated")
_STATUS_COUNTS = ("replies_count", "reblogs_count", "favourites_count", "quotes_count")


def signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature value Mastodon sends for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the X-Hub-Signature header matches the body under `secret`."""
    if not secret:
        return False
    sent = next((v for k, v in headers.items() if k.lower() == "x-hub-signature"), "")
    return bool(sent) and hmac.compare_digest(sent.strip(), signature(secret, body))


def parse(body: bytes) -> list[WebhookEvent]:
    """One event per delivery; status events carry the status id, its author and its counts."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        return []
    kind = payload["event"]
    obj: Any = payload.get("object") if isinstance(payload.get("object"), dict) else {}
    if kind in STATUS_EVENTS:
        account = obj.get("account") if isinstance(obj.get("account"), dict) else {}
        metrics = numeric_values(obj, _STATUS_COUNTS)
        return [
            WebhookEvent(
                kind=kind,
                external_post_id=str(obj["id"]) if "id" in obj else None,
                external_account_id=str(account["id"]) if "id" in account else None,
                metrics=metrics,
                raw=payload,
            )
        ]
    account_id = str(obj["id"]) if kind.startswith("account.") and "id" in obj else None
    return [WebhookEvent(kind=kind, external_account_id=account_id, raw=payload)]
