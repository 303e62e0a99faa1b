"""Meta's webhooks: the verification handshake, `X-Hub-Signature-256` and the deliveries' events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from ocma_core.platforms.types import WebhookEvent

SIGNATURE_HEADER = "x-hub-signature-256"


def hub_challenge(params: Mapping[str, str], verify_token: str | None) -> tuple[int, str] | None:
    """Answer Meta's verification GET (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`): 200 with
    the challenge echoed as the body when the token matches, else 403; None when `params` is not one."""
    if "hub.mode" not in params and "hub.challenge" not in params:
        return None
    sent = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return 403, "Forbidden"
    if not hmac.compare_digest(sent.encode(), verify_token.encode()):
        return 403, "Forbidden"
    return 200, params.get("hub.challenge", "")


def signature(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends for `body`: `sha256=<hex HMAC-SHA256(app secret, body)>`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """True when `X-Hub-Signature-256` is the app secret's HMAC of the raw body (constant-time compare)."""
    if not app_secret:
        return False
    sent = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "").strip()
    return bool(sent) and hmac.compare_digest(sent.lower().encode(), signature(app_secret, body).encode())


#: (object, field, item/verb) -> OCMA event kind; a `None` item matches any.
_KINDS: dict[tuple[str, str], str] = {
    ("page", "mention"): "mention",
    ("instagram", "comments"): "comment",
    ("instagram", "live_comments"): "comment",
    ("instagram", "mentions"): "mention",
    ("threads", "replies"): "comment",
    ("threads", "mentions"): "mention",
}


def _page_feed_kind(value: Mapping[str, Any]) -> str:
    item, verb = str(value.get("item") or ""), str(value.get("verb") or "")
    if item == "comment":
        return {"remove": "comment_deleted", "edited": "comment_edited"}.get(verb, "comment")
    if item == "reaction":
        return "reaction"
    return f"feed.{item or 'change'}"


def _post_id(obj: str, value: Mapping[str, Any]) -> str | None:
    if obj == "page":
        found = value.get("post_id") or value.get("parent_id")
    elif obj == "instagram":
        media = value.get("media")
        found = media.get("id") if isinstance(media, dict) else value.get("media_id")
    else:  # threads: the reply's root post (ours), else the post it replies to
        root, parent = value.get("root_post"), value.get("replied_to")
        found = (root.get("id") if isinstance(root, dict) else None) or (
            parent.get("id") if isinstance(parent, dict) else None
        )
    return str(found) if found else None


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    """The events of one delivery: comments and mentions of `page`, `instagram` and `threads` objects (other
    changes become `<object>.<field>` events). The event's account is the entry's id (Page, IG user, Threads
    user); `raw` is the change's value."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    obj = str(payload.get("object") or "")
    events: list[WebhookEvent] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        changes = entry.get("changes") or []
        if isinstance(entry.get("values"), list):  # Threads delivers `values` in place of `changes`
            changes = [*changes, *entry["values"]]
        for change in changes:
            if not isinstance(change, dict):
                continue
            name = str(change.get("field") or "")
            found = change.get("value")
            value: dict[str, Any] = found if isinstance(found, dict) else {}
            if obj == "page" and name == "feed":
                kind = _page_feed_kind(value)
            else:
                kind = _KINDS.get((obj, name), f"{obj or 'meta'}.{name or 'change'}")
            events.append(
                WebhookEvent(
                    kind=kind,
                    external_post_id=_post_id(obj, value),
                    external_account_id=str(entry.get("id") or "") or None,
                    raw={"object": obj, "field": name, "time": entry.get("time"), "value": value},
                )
            )
    return events
