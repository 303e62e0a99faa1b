"""Outbound webhooks of a workspace: endpoints (URL, kinds, secret shown once, rotation with an overlap
window), their delivery log, redelivery and a test ping. Sending lives in ocma_core.webhook_delivery."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.event_models import EventCursor, Webhook, WebhookDelivery
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError, ValidationFailed

ROTATION_OVERLAP = timedelta(hours=24)
KIND_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
MAX_PER_WORKSPACE = 20


@dataclass(frozen=True)
class WithSecret:
    """A webhook and its new secret (shown this once)."""

    webhook: Webhook
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _kinds(kinds: list[str]) -> list[str]:
    bad = [k for k in kinds if not KIND_PATTERN.match(k)]
    if bad:
        raise ValidationFailed(
            f"Not event kinds: {', '.join(bad)}.", fix="Use kinds from docs/events.md, e.g. post.published."
        )
    return sorted(set(kinds))


def create_webhook(
    ocma: Ocma, workspace_id: str, url: str, kinds: list[str], description: str = ""
) -> WithSecret:
    """Add an endpoint (every target URL passes the request-forgery guard); its secret is returned once."""
    from ocma_core.eventlog import last_seq
    from ocma_core.webhook_delivery import check_target

    check_target(url)
    secret, start = new_secret(), last_seq(ocma, workspace_id)
    with ocma.session() as session:
        count = len(session.exec(select(Webhook.id).where(Webhook.workspace_id == workspace_id)).all())
        if count >= MAX_PER_WORKSPACE:
            raise ValidationFailed(f"A workspace has at most {MAX_PER_WORKSPACE} webhooks.")
        hook = Webhook(
            workspace_id=workspace_id,
            url=url,
            kinds=_kinds(kinds),
            description=description,
            secret_enc=ocma.vault.encrypt(secret),
        )
        session.add(hook)
        if session.get(EventCursor, ("webhooks", workspace_id)) is None:  # from now on, not history
            session.add(EventCursor(consumer="webhooks", workspace_id=workspace_id, last_seq=start))
        session.flush()
        session.refresh(hook)
        session.expunge(hook)
    return WithSecret(hook, secret)


def get_webhook(ocma: Ocma, workspace_id: str, webhook_id: str) -> Webhook:
    """One endpoint of the workspace (NotFoundError for another workspace's)."""
    with ocma.session() as session:
        hook = session.get(Webhook, webhook_id)
        if hook is None or hook.workspace_id != workspace_id:
            raise NotFoundError(f"No webhook {webhook_id} in this workspace.")
        session.expunge(hook)
        return hook


def list_webhooks(ocma: Ocma, workspace_id: str) -> list[Webhook]:
    """Every endpoint of the workspace, oldest first."""
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(Webhook).where(Webhook.workspace_id == workspace_id).order_by(col(Webhook.created_at))
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def update_webhook(
    ocma: Ocma, workspace_id: str, webhook_id: str, changes: dict[str, Any], *, rotate: bool = False
) -> WithSecret | Webhook:
    """Change URL, kinds, description or enabled; `rotate` makes a new secret (the old one keeps signing
    alongside it for ROTATION_OVERLAP) and returns it once."""
    from ocma_core.webhook_delivery import check_target

    get_webhook(ocma, workspace_id, webhook_id)
    if changes.get("url") is not None:
        check_target(str(changes["url"]))
    secret = new_secret() if rotate else None
    with ocma.session() as session:
        hook = session.get(Webhook, webhook_id)
        assert hook is not None
        for name in ("url", "description"):
            if changes.get(name) is not None:
                setattr(hook, name, changes[name])
        if changes.get("kinds") is not None:
            hook.kinds = _kinds(list(changes["kinds"]))
        if changes.get("enabled") is not None:
            hook.enabled = bool(changes["enabled"])
            if hook.enabled:
                hook.disabled_reason, hook.failing_since = None, None
        if secret is not None:
            hook.previous_secret_enc, hook.previous_until = hook.secret_enc, utcnow() + ROTATION_OVERLAP
            hook.secret_enc = ocma.vault.encrypt(secret)
        hook.updated_at = utcnow()
        session.add(hook)
        session.flush()
        session.refresh(hook)
        session.expunge(hook)
    return WithSecret(hook, secret) if secret is not None else hook


def delete_webhook(ocma: Ocma, workspace_id: str, webhook_id: str) -> None:
    """Remove an endpoint and its delivery log."""
    from sqlalchemy import delete

    get_webhook(ocma, workspace_id, webhook_id)
    with ocma.session() as session:
        session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook_id))
        session.execute(delete(Webhook).where(col(Webhook.id) == webhook_id))


def deliveries(
    ocma: Ocma, workspace_id: str, webhook_id: str, limit: int = 50, offset: int = 0
) -> list[WebhookDelivery]:
    """The endpoint's newest deliveries first."""
    get_webhook(ocma, workspace_id, webhook_id)
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(WebhookDelivery)
                .where(WebhookDelivery.webhook_id == webhook_id)
                .order_by(col(WebhookDelivery.created_at).desc())
                .offset(max(0, offset))
                .limit(max(1, min(limit, 500)))
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def redeliver(
    ocma: Ocma, workspace_id: str, webhook_id: str, *, delivery_id: str | None, since: datetime | None
) -> int:
    """Send one delivery again, or every one made since a time (same webhook-id: receivers de-duplicate)."""
    if (delivery_id is None) == (since is None):
        raise ValidationFailed("Give either delivery_id or since.")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    get_webhook(ocma, workspace_id, webhook_id)
    query = update(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook_id)
    if delivery_id is not None:
        query = query.where(col(WebhookDelivery.id) == delivery_id)
    else:
        query = query.where(col(WebhookDelivery.created_at) >= since)
    with ocma.session() as session:
        done = session.execute(
            query.values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_until=None)
        )
        count = int(getattr(done, "rowcount", 0))
    if delivery_id is not None and not count:
        raise NotFoundError(f"No delivery {delivery_id} of this webhook.")
    return count


def view(hook: Webhook) -> dict[str, Any]:
    """An endpoint as shown (never its secret)."""
    return {
        "id": hook.id,
        "url": hook.url,
        "description": hook.description,
        "events": list(hook.kinds),
        "enabled": hook.enabled,
        "disabled_reason": hook.disabled_reason,
        "failing_since": hook.failing_since.isoformat() if hook.failing_since else None,
        "secret_rotating_until": hook.previous_until.isoformat() if hook.previous_until else None,
        "created_at": hook.created_at.isoformat(),
    }


def delivery_view(row: WebhookDelivery) -> dict[str, Any]:
    """A delivery as shown in the log."""
    return {
        "id": row.id,
        "kind": row.kind,
        "event_seq": row.event_seq,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "last_attempt_at": row.last_attempt_at.isoformat() if row.last_attempt_at else None,
        "response_status": row.response_status,
        "response_ms": row.response_ms,
        "response_body": row.response_body,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
    }
