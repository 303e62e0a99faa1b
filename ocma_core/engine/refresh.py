"""Calling a platform as an account, refreshing an expired token once under a per-account lease."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus
from ocma_core.db.types import utcnow
from ocma_core.errors import AuthExpired, PlatformError
from ocma_core.observe.instruments import TOKEN_REFRESHES
from ocma_core.platforms import AccountContext, Platform

T = TypeVar("T")
LEASE_S = 30.0
EARLY_REFRESH = timedelta(seconds=60)


def load_context(ocma: Ocma, account_id: str) -> tuple[Account, AccountContext]:
    """The account row and a decrypted context for it."""
    from ocma_core.services.accounts import account_context

    with ocma.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise AuthExpired(f"Account {account_id} no longer exists.")
    if account.status is not AccountStatus.CONNECTED:
        raise AuthExpired(
            f"Account {account.handle} needs reconnecting: {account.last_error or account.status}."
        )
    return account, account_context(ocma, account)


async def refresh_account(
    ocma: Ocma, account_id: str, platform: Platform, seen_version: int
) -> AccountContext:
    """Refresh the account's tokens once, unless another worker already did (then use theirs)."""
    from ocma_core.services import accounts

    deadline = asyncio.get_running_loop().time() + LEASE_S
    while not accounts.acquire_refresh_lease(ocma, account_id, LEASE_S):
        await asyncio.sleep(0.2)
        account, ctx = load_context(ocma, account_id)
        if account.token_version != seen_version:
            return ctx  # someone else refreshed while we waited
        if asyncio.get_running_loop().time() > deadline:
            raise AuthExpired(f"Timed out waiting for another worker to refresh {account.handle}.")
    try:
        account, ctx = load_context(ocma, account_id)
        if account.token_version != seen_version:
            accounts.release_refresh_lease(ocma, account_id)
            return ctx
        tokens = await platform.refresh(ctx)
    except AuthExpired as exc:
        TOKEN_REFRESHES.labels(platform.name, "auth_expired").inc()
        accounts.mark_needs_reconnect(ocma, account_id, f"Refresh failed: {exc.message}")
        raise
    except PlatformError:
        TOKEN_REFRESHES.labels(platform.name, "error").inc()
        accounts.release_refresh_lease(ocma, account_id)
        raise
    except BaseException:
        accounts.release_refresh_lease(ocma, account_id)
        raise
    accounts.store_refreshed_tokens(ocma, account_id, tokens)
    TOKEN_REFRESHES.labels(platform.name, "ok").inc()
    return load_context(ocma, account_id)[1]


async def call_with_refresh(
    ocma: Ocma, account_id: str, platform: Platform, call: Callable[[AccountContext], Awaitable[T]]
) -> T:
    """Run `call(ctx)`; on AuthExpired (or a token about to expire) refresh once and try again."""
    account, ctx = load_context(ocma, account_id)
    expires = ctx.tokens.expires_at
    if expires is not None and ctx.tokens.refresh_token and expires - EARLY_REFRESH < utcnow():
        ctx = await refresh_account(ocma, account_id, platform, account.token_version)
        account, ctx = load_context(ocma, account_id)
    try:
        return await call(ctx)
    except AuthExpired as exc:
        if not ctx.tokens.refresh_token:
            from ocma_core.services.accounts import mark_needs_reconnect

            reason = f" ({exc.message})" if exc.message else ""
            mark_needs_reconnect(
                ocma, account_id, f"The platform refused the token{reason} and issued no refresh token."
            )
            raise
        ctx = await refresh_account(ocma, account_id, platform, account.token_version)
    try:
        return await call(ctx)
    except AuthExpired as exc:
        from ocma_core.services.accounts import mark_needs_reconnect

        mark_needs_reconnect(ocma, account_id, f"Token refused right after refresh: {exc.message}")
        raise
