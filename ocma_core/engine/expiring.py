"""`account.token_expiring`: warn ahead of time about an authorisation OCMA cannot renew by itself — an
access token without a refresh token, or a refresh token that itself expires (LinkedIn's, after a year) —
once per account and expiry, so the team reconnects before posts are held."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, or_, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus
from ocma_core.db.types import utcnow

AHEAD = timedelta(days=7)


def _deadline(account: Account) -> datetime | None:
    """When the account's authorisation ends unless a person reconnects it (None: OCMA renews it)."""
    if account.refresh_expires_at is not None:
        return account.refresh_expires_at
    if account.refresh_token_enc is None and account.expires_at is not None:
        return account.expires_at
    return None


def announce_expiring(ocma: Ocma, now: datetime | None = None) -> list[str]:
    """Record account.token_expiring for connected accounts whose authorisation ends within AHEAD (each once
    per expiry, across processes); the accounts announced."""
    from ocma_core.events import Event, dispatch, record
    from ocma_core.services.once import claim_once

    now = now or utcnow()
    horizon = now + AHEAD
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(Account).where(
                    Account.status == AccountStatus.CONNECTED,
                    or_(
                        col(Account.refresh_expires_at) <= horizon,
                        col(Account.refresh_token_enc).is_(None) & (col(Account.expires_at) <= horizon),
                    ),
                )
            )
        )
        for row in rows:
            session.expunge(row)
    announced = []
    for account in rows:
        ends = _deadline(account)
        if ends is None or ends < now or ends > horizon:
            continue
        ttl = (ends - now).total_seconds() + 86400
        if not claim_once(ocma, f"token_expiring:{account.id}:{ends.isoformat()}", ttl):
            continue
        payload = {
            "account_id": account.id,
            "platform": account.platform,
            "handle": account.handle,
            "expires_at": ends.isoformat(),
        }
        event = Event("account.token_expiring", account.workspace_id, payload)
        with ocma.session() as session:
            record(session, event)
        dispatch(event, ocma)
        announced.append(account.id)
    return announced
