"""The click receiver's signing secret, one per workspace: created and rotated by the operator (shown once,
stored encrypted), and the Standard Webhooks verification of a delivery against it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ocma_core.context import Ocma
from ocma_core.db.click_models import ClickHook
from ocma_core.db.types import utcnow
from ocma_core.errors import ConflictError, NotFoundError

ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret still verifies for this long after a rotation
TOLERANCE = timedelta(minutes=5)  # the standardwebhooks library's: a delivery's timestamp within 5 min of now
WEBHOOK_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces


class Refused(Exception):
    """A delivery that does not verify: `status`, a message for the sender, and the metric outcome
    ("bad_signature" for a signature, timestamp or id that does not check out; "refused" when the workspace
    has no usable secret)."""

    def __init__(self, message: str, status: int = 401, outcome: str = "bad_signature") -> None:
        super().__init__(message)
        self.message, self.status, self.outcome = message, status, outcome


@dataclass(frozen=True)
class NewSecret:
    """A secret just made: shown this once."""

    secret: str
    rotated: bool
    previous_valid_until: datetime | None


def make_secret(ocma: Ocma, workspace_id: str, *, rotate: bool = False) -> NewSecret:
    """Create the workspace's receiver secret, or with `rotate` replace it (the old one verifies 24 h more)."""
    from ocma_core.services.webhooks import new_secret

    secret, now = new_secret(), utcnow()
    with ocma.session() as session:
        hook = session.get(ClickHook, workspace_id)
        if hook is not None and not rotate:
            raise ConflictError(
                "This workspace's click receiver already has a secret.",
                fix="Rotate it with `ocma clicks secret --rotate` (the old one keeps verifying for 24 hours).",
            )
        if hook is None:
            if rotate:
                raise NotFoundError(
                    "This workspace has no click receiver secret to rotate.",
                    fix="Create one with `ocma clicks secret`.",
                )
            session.add(
                ClickHook(
                    workspace_id=workspace_id,
                    secret_enc=ocma.vault.encrypt(secret),
                    created_at=now,
                    rotated_at=now,
                )
            )
            return NewSecret(secret, False, None)
        readable = bool(hook.secret_enc) and ocma.vault.can_decrypt(hook.secret_enc)
        hook.previous_secret_enc = hook.secret_enc if readable else None
        hook.previous_until = now + ROTATION_OVERLAP if readable else None
        hook.secret_enc, hook.rotated_at = ocma.vault.encrypt(secret), now
        session.add(hook)
        return NewSecret(secret, True, hook.previous_until)


def remove_secret(ocma: Ocma, workspace_id: str) -> None:
    """Turn the receiver off for the workspace (its deliveries are refused; stored clicks stay)."""
    with ocma.session() as session:
        hook = session.get(ClickHook, workspace_id)
        if hook is None:
            raise NotFoundError("This workspace has no click receiver secret.")
        session.delete(hook)


def hook_status(ocma: Ocma, workspace_id: str) -> dict[str, Any]:
    """Whether the receiver is configured, since when, rotation overlap and last delivery (never the secret)."""
    with ocma.session() as session:
        hook = session.get(ClickHook, workspace_id)
        if hook is None:
            return {"configured": False}
        rotating = hook.previous_until if hook.previous_until and hook.previous_until > utcnow() else None
        return {
            "configured": True,
            "created_at": hook.created_at.isoformat(),
            "rotated_at": hook.rotated_at.isoformat(),
            "previous_secret_valid_until": rotating.isoformat() if rotating else None,
            "last_delivery_at": hook.last_delivery_at.isoformat() if hook.last_delivery_at else None,
        }


def configured_workspaces(ocma: Ocma) -> list[str]:
    """Ids of the workspaces whose receiver has a secret."""
    from sqlmodel import select

    with ocma.session() as session:
        return list(session.exec(select(ClickHook.workspace_id)).all())


def _secrets(ocma: Ocma, workspace_id: str) -> list[str]:
    """The secrets that verify now: the current one, and the previous one during the overlap. A secret no
    configured key decrypts (a lost key, `ocma keys forget-unreadable`) is left out."""
    with ocma.session() as session:
        hook = session.get(ClickHook, workspace_id)
        if hook is None:
            raise Refused(
                "This workspace's click receiver has no secret: create one with `ocma clicks secret`.",
                401,
                "refused",
            )
        stored = [hook.secret_enc]
        if hook.previous_secret_enc and hook.previous_until and hook.previous_until > utcnow():
            stored.append(hook.previous_secret_enc)
    found = [ocma.vault.decrypt(c) for c in stored if c and ocma.vault.can_decrypt(c)]
    if not found:
        raise Refused(
            "This workspace's click receiver secret cannot be decrypted with the configured keys: make a new "
            "one with `ocma clicks secret --rotate`.",
            503,
            "refused",
        )
    return found


def verify(ocma: Ocma, workspace_id: str, headers: dict[str, str], body: bytes) -> str:
    """Check the delivery's Standard Webhooks headers on the raw body with the workspace's secret(s) (the
    `standardwebhooks` library: HMAC-SHA256, 5-minute timestamp tolerance); returns its webhook-id."""
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError

    msg_id = headers.get("webhook-id", "")
    if not WEBHOOK_ID.match(msg_id):
        raise Refused("webhook-id is missing or not 1 to 200 printable ASCII characters.")
    _check_timestamp(headers.get("webhook-timestamp", ""))
    for secret in _secrets(ocma, workspace_id):
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError, TypeError):
            # ValueError also covers a body that is not UTF-8 and a malformed or non-base64 signature
            continue
        return msg_id
    raise Refused("No webhook-signature v1 signature matches the body with this workspace's secret.")


def _check_timestamp(raw: str) -> None:
    """The timestamp's own refusal, with the numbers (the library only says "too old")."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise Refused("webhook-timestamp is missing or not a unix time in whole seconds.")
    age = utcnow().timestamp() - int(raw)
    if abs(age) > TOLERANCE.total_seconds():
        raise Refused(
            f"webhook-timestamp is {int(age)} s from now, outside the {int(TOLERANCE.total_seconds())} s "
            "tolerance: sign each delivery (and each retry) when it is sent."
        )
