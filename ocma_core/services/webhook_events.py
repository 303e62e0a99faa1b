"""Webhook deliveries that are conversation, not numbers: comments and mentions become domain events."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.platforms import WebhookEvent

#: Webhook event kinds that become domain events for the account's workspace (a reply to answer, a mention).
CONVERSATION_KINDS = {"comment": "webhook.comment", "mention": "webhook.mention"}
#: A platform says a publish it was processing has ended (e.g. TikTok's `post.publish.*`): `external_post_id`
#: is the id the pending target waits under, or its first part before a ":" (a plugin's pending handle).
PUBLISH_SETTLED = "publish.settled"
#: A platform says the person withdrew OCMA's access (e.g. TikTok's `authorization.removed`):
#: `external_account_id` names the account, `raw["reason"]` says why when the platform does.
AUTHORIZATION_REVOKED = "authorization.revoked"


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


def settle_pending(ocma: Ocma, platform: str, events: Iterable[WebhookEvent]) -> int:
    """Make the pending targets a `publish.settled` event names due now, so a worker asks the platform at
    once instead of at its next poll (the answer still comes from `check_pending`: a delivery decides
    nothing by itself); returns how many were woken."""
    from sqlalchemy import or_, update

    from ocma_core.db.models import Account, Target, TargetStatus
    from ocma_core.db.types import utcnow

    ids = {e.external_post_id for e in events if e.kind == PUBLISH_SETTLED and e.external_post_id}
    if not ids:
        return 0
    now = utcnow()
    matches = or_(
        *(
            or_(col(Target.external_id) == i, col(Target.external_id).startswith(f"{i}:", autoescape=True))
            for i in ids
        )
    )
    accounts = select(Account.id).where(col(Account.platform) == platform)
    with ocma.session() as session:
        woken = (
            session.execute(
                update(Target)
                .where(
                    col(Target.status) == TargetStatus.PENDING,
                    col(Target.claimed_by).is_(None),
                    col(Target.account_id).in_(accounts),
                    matches,
                )
                .values(due_at=now)
                .returning(col(Target.id))
                .execution_options(synchronize_session=False)
            )
            .scalars()
            .all()
        )
    for target_id in woken:
        ocma.queue.push(target_id, now)
    return len(woken)


def revoked_accounts(ocma: Ocma, platform: str, events: Iterable[WebhookEvent]) -> int:
    """Mark the connected accounts an `authorization.revoked` event names as needing reconnection (which
    holds their posts and tells the workspace); returns how many were marked."""
    from ocma_core.db.models import Account, AccountStatus
    from ocma_core.services.accounts import mark_needs_reconnect

    marked = 0
    for event in events:
        if event.kind != AUTHORIZATION_REVOKED or not event.external_account_id:
            continue
        with ocma.session() as session:
            ids = session.exec(
                select(Account.id).where(
                    col(Account.platform) == platform,
                    col(Account.external_id) == event.external_account_id,
                    col(Account.status) == AccountStatus.CONNECTED,
                )
            ).all()
        why = str(event.raw.get("reason") or "the person withdrew OCMA's access")
        for account_id in ids:
            mark_needs_reconnect(ocma, account_id, f"{platform} says the authorisation was removed: {why}.")
            marked += 1
    return marked
