"""LinkedIn webhooks: endpoint validation, X-LI-Signature verification and notification parsing.

Validation (learn.microsoft.com/linkedin/shared/api-guide/webhook-validation): LinkedIn sends
GET ?challengeCode=<uuid>[&applicationId=...] and expects 200 JSON {challengeCode, challengeResponse}
with challengeResponse = hex(HMAC-SHA256(key=clientSecret, msg=challengeCode)), within 3 s, re-checked
every 2 hours. Deliveries carry X-LI-Signature: the HMAC-SHA256 (key clientSecret) of the raw POST body
*prefixed by* "hmacsha256=", hex-encoded. The documented payload we parse is Organization Social Action
Notifications: {type: ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS, notifications: [{notificationId, action,
organizationalEntity, sourcePost, generatedActivity, lastModifiedAt, subscriber, ...}]}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ocma_core import WebhookEvent

SIGNATURE_HEADER = "x-li-signature"
SIGNED_PREFIX = b"hmacsha256="
ORG_SOCIAL_ACTIONS = "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"
ACTION_KINDS = {
    "LIKE": "like",
    "COMMENT": "comment",
    "ADMIN_COMMENT": "comment",
    "COMMENT_EDIT": "comment_edited",
    "COMMENT_DELETE": "comment_deleted",
    "SHARE": "share",
    "SHARE_MENTION": "mention",
}


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def challenge_response(client_secret: str, challenge_code: str) -> str:
    """hex(HMAC-SHA256(clientSecret, challengeCode))."""
    return hmac.new(client_secret.encode(), challenge_code.encode(), hashlib.sha256).hexdigest()


def answer_challenge(client_secret: str, params: Mapping[str, str]) -> tuple[int, dict[str, Any]] | None:
    """The validation answer for a GET carrying challengeCode, or None when it carries none."""
    code = params.get("challengeCode")
    if not code or not _UUID.fullmatch(code):
        return None  # LinkedIn sends a UUID; any other text would be a signing oracle for deliveries
    return 200, {"challengeCode": code, "challengeResponse": challenge_response(client_secret, code)}


def signature(client_secret: str, body: bytes) -> str:
    """The X-LI-Signature value LinkedIn computes for `body`."""
    return hmac.new(client_secret.encode(), SIGNED_PREFIX + body, hashlib.sha256).hexdigest()


def verify(client_secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """True when X-LI-Signature matches (a literal "hmacsha256=" in front of the value is tolerated)."""
    sent = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
    sent = sent.strip().lower()
    if sent.startswith(SIGNED_PREFIX.decode()):
        sent = sent[len(SIGNED_PREFIX) :]
    return bool(sent) and hmac.compare_digest(sent, signature(client_secret, body))


def parse(body: bytes) -> list[WebhookEvent]:
    """Events of one delivery; unknown payload types give one event of kind `linkedin.<type>`."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    kind = str(payload.get("type") or "")
    if kind != ORG_SOCIAL_ACTIONS:
        return [WebhookEvent(kind=f"linkedin.{kind.lower() or 'unknown'}", raw=payload)]
    events: list[WebhookEvent] = []
    for note in payload.get("notifications") or []:
        if not isinstance(note, dict):
            continue
        action = str(note.get("action") or "")
        events.append(
            WebhookEvent(
                kind=ACTION_KINDS.get(action, f"linkedin.{action.lower() or 'unknown'}"),
                external_post_id=note.get("sourcePost"),
                external_account_id=note.get("organizationalEntity"),
                raw=note,
            )
        )
    return events
