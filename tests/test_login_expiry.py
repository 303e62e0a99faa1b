"""Logins that cannot be refreshed: warned 7 days and 1 day ahead, held when they end — not after a failure."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, Notification
from ocma_core.db.types import utcnow
from ocma_core.engine.expiry import check_expiring
from ocma_core.platforms import Profile, TokenSet
from ocma_core.registry import get_platform
from ocma_core.services.accounts import save_account


def _account(ocma: Ocma, workspace_id: str, tokens: TokenSet) -> str:
    profile = Profile(external_id=secrets.token_hex(4), handle="page")
    return save_account(ocma, workspace_id, get_platform("fakesocial"), tokens, profile).id


def _events(ocma: Ocma, kind: str) -> list[dict[str, object]]:
    with ocma.session() as s:
        return [n.payload for n in s.exec(select(Notification).where(Notification.kind == kind))]


def test_a_login_without_refresh_is_warned_twice_then_held_when_it_ends(
    ocma: Ocma, workspace_id: str
) -> None:
    now = utcnow()
    ends = now + timedelta(days=3)
    account_id = _account(ocma, workspace_id, TokenSet(access_token="page-token", expires_at=ends))

    assert check_expiring(ocma, now) == [account_id]
    assert check_expiring(ocma, now + timedelta(hours=1)) == []  # once per threshold, in any worker
    (week,) = _events(ocma, "account.expiring")
    assert week["account_id"] == account_id and week["expires_at"] == ends.isoformat()
    assert "cannot be refreshed" in str(week["reason"])

    assert check_expiring(ocma, now + timedelta(days=2, hours=12)) == [account_id]  # the 1-day warning
    assert len(_events(ocma, "account.expiring")) == 2
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None and account.status is AccountStatus.CONNECTED  # still works until the end

    assert check_expiring(ocma, ends + timedelta(minutes=1)) == [account_id]
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None and account.status is AccountStatus.NEEDS_RECONNECT
        assert "cannot be refreshed" in (account.last_error or "")
    assert len(_events(ocma, "account.needs_reconnect")) == 1


def test_refreshable_and_far_logins_are_left_alone(ocma: Ocma, workspace_id: str) -> None:
    now: datetime = utcnow()
    refreshable = TokenSet(access_token="a", refresh_token="r", expires_at=now + timedelta(hours=1))
    far = TokenSet(access_token="b", expires_at=now + timedelta(days=30))
    _account(ocma, workspace_id, refreshable)
    _account(ocma, workspace_id, far)
    assert check_expiring(ocma, now) == []
    ending_refresh = TokenSet(
        access_token="c",
        refresh_token="c",
        expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=2),
    )
    account_id = _account(ocma, workspace_id, ending_refresh)
    assert check_expiring(ocma, now) == [account_id]  # the refresh token itself ends (Instagram, LinkedIn)
