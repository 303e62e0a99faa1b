"""Webhook deliveries that are conversation, not numbers: comments and mentions become domain events."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.platforms import WebhookEvent

#: Webhook event kinds that become domain events for the account's workspace (a reply to answer, a mention).
CONVERSATION_KINDS = {"comment": "webhook.comment", "mention": "webhook.mention"}


def record_conversation_events(ocma: Ocma, platform: str, events: Iterable[WebhookEvent]) -> int:
    """Comments and mentions of connected accounts as `webhook.comment` / `webhook.mention` events (stored
    as notifications and handed to plugins' on_event); returns how many were recorded."""
    from ocma_core.db.models import Account
    from ocma_core.events import Event, dispatch, record

    out: list[Event] = []
    with ocma.session() as session:
        for event in events:
            kind = CONVERSATION_KINDS.get(event.kind)
            if kind is None or not event.external_account_id:
                continue
            accounts = session.exec(
                select(Account).where(
                    col(Account.platform) == platform, col(Account.external_id) == event.external_account_id
                )
            ).all()
            for account in accounts:
                payload = {
                    "account_id": account.id,
                    "platform": platform,
                    "handle": account.handle,
                    "external_post_id": event.external_post_id,
                    "detail": event.raw,
                }
                out.append(Event(kind, account.workspace_id, payload))
                record(session, out[-1])
    for item in out:
        dispatch(item, ocma)
    return len(out)
