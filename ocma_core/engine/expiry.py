"""Logins that end on a known date with no way to refresh them: warn ahead, and hold before a post fails.

Facebook Pages have no refresh tokens (the login lasts about 60 days), Instagram and Threads tokens can no
longer be refreshed once expired, LinkedIn's refresh tokens end after 365 days. For such an account the date
is known — the refresh token's end when there is one, else the access token's — so OCMA does not wait for the
first refused call: an `account.expiring` event goes out 7 days and again 1 day ahead (once each, whichever
worker sees it first), and when the date passes the account is marked as needing reconnection, holding its
posts with the reason, before any publish is tried on a dead login.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus
from ocma_core.db.types import utcnow
from ocma_core.events import Event, dispatch, record

#: How long before the end each warning goes out (nearest first).
WARN_AHEAD = (timedelta(days=1), timedelta(days=7))
#: How often a worker looks.
CHECK_S = 3600.0


def login_ends(account: Account) -> datetime | None:
    """When the account's login stops working for good (no refresh can extend it), in UTC."""
    ends = account.refresh_expires_at if account.refresh_token_enc else account.expires_at
    if ends is None:
        return None
    return ends if ends.tzinfo else ends.replace(tzinfo=UTC)


def _warn(ocma: Ocma, account: Account, ends: datetime, ahead: timedelta, now: datetime) -> bool:
    from ocma_core.services.once import claim_once

    key = f"expiring:{account.id}:{int(ends.timestamp())}:{int(ahead.total_seconds())}"
    if not claim_once(ocma, key, ttl_s=ahead.total_seconds() + 2 * 86400):
        return False
    payload = {
        "account_id": account.id,
        "platform": account.platform,
        "handle": account.handle,
        "expires_at": ends.isoformat(),
        "hours_left": round((ends - now).total_seconds() / 3600, 1),
        "reason": f"The {account.platform} login of {account.handle} ends on {ends:%Y-%m-%d %H:%M} UTC and "
        "cannot be refreshed; reconnect the account before then.",
    }
    event = Event("account.expiring", account.workspace_id, payload)
    with ocma.session() as session:
        record(session, event)
    dispatch(event, ocma)
    return True


def check_expiring(ocma: Ocma, now: datetime | None = None) -> list[str]:
    """Warn about logins ending within a week, mark ended ones needing reconnection; the account ids acted on."""
    from ocma_core.services.accounts import mark_needs_reconnect

    now = now or utcnow()
    horizon = now + max(WARN_AHEAD)
    with ocma.session() as session:
        accounts = list(
            session.exec(
                select(Account).where(
                    col(Account.status) == AccountStatus.CONNECTED,
                    (col(Account.expires_at) <= horizon) | (col(Account.refresh_expires_at) <= horizon),
                )
            )
        )
    acted: list[str] = []
    for account in accounts:
        ends = login_ends(account)
        if ends is None or ends > horizon:
            continue
        if ends <= now:
            reason = (
                f"The {account.platform} login ended on {ends:%Y-%m-%d %H:%M} UTC and cannot be refreshed; "
                "reconnect the account."
            )
            mark_needs_reconnect(ocma, account.id, reason)
            acted.append(account.id)
            continue
        ahead = next(a for a in WARN_AHEAD if ends - a <= now)
        if _warn(ocma, account, ends, ahead, now):
            acted.append(account.id)
    return acted
