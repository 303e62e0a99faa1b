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
    """The account row and a decrypted context for it (reads the database: call it off the event loop)."""
    with ocma.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise AuthExpired(f"Account {account_id} no longer exists.")
    return account, context_of(ocma, account)


_plain: dict[tuple[str, int, str | None, str | None], tuple[str, str | None]] = {}
_PLAIN_MAX = 4096


def context_of(ocma: Ocma, account: Account) -> AccountContext:
    """A context for an account row just read; its tokens are decrypted once per account and token version
    (the cache key holds the ciphertexts, so a refresh or reconnect is never served an old token)."""
    from ocma_core.services.accounts import account_context

    if account.status is not AccountStatus.CONNECTED:
        raise AuthExpired(
            f"Account {account.handle} needs reconnecting: {account.last_error or account.status}."
        )
    key = (account.id, account.token_version, account.access_token_enc, account.refresh_token_enc)
    plain = _plain.get(key)
    ctx = account_context(ocma, account, plain)
    if plain is None and account.access_token_enc:
        if len(_plain) >= _PLAIN_MAX:
            _plain.clear()
        _plain[key] = (ctx.tokens.access_token, ctx.tokens.refresh_token)
    return ctx


async def refresh_account(
    ocma: Ocma, account_id: str, platform: Platform, seen_version: int
) -> AccountContext:
    """Refresh the account's tokens once, unless another worker already did (then use theirs)."""
    from ocma_core.services import accounts

    deadline = asyncio.get_running_loop().time() + LEASE_S
    while not await asyncio.to_thread(accounts.acquire_refresh_lease, ocma, account_id, LEASE_S):
        await asyncio.sleep(0.2)
        account, ctx = await asyncio.to_thread(load_context, ocma, account_id)
        if account.token_version != seen_version:
            return ctx  # someone else refreshed while we waited
        if asyncio.get_running_loop().time() > deadline:
            raise AuthExpired(f"Timed out waiting for another worker to refresh {account.handle}.")
    try:
        account, ctx = await asyncio.to_thread(load_context, ocma, account_id)
        if account.token_version != seen_version:
            await asyncio.to_thread(accounts.release_refresh_lease, ocma, account_id)
            return ctx
        tokens = await platform.refresh(ctx)
    except AuthExpired as exc:
        TOKEN_REFRESHES.labels(platform.name, "auth_expired").inc()
        await asyncio.to_thread(
            accounts.mark_needs_reconnect, ocma, account_id, f"Refresh failed: {exc.message}"
        )
        raise
    except PlatformError:
        TOKEN_REFRESHES.labels(platform.name, "error").inc()
        await asyncio.to_thread(accounts.release_refresh_lease, ocma, account_id)
        raise
    except BaseException:
        accounts.release_refresh_lease(ocma, account_id)  # also on cancellation: no await here
        raise
    await asyncio.to_thread(accounts.store_refreshed_tokens, ocma, account_id, tokens)
    TOKEN_REFRESHES.labels(platform.name, "ok").inc()
    return (await asyncio.to_thread(load_context, ocma, account_id))[1]


async def call_with_refresh(
    ocma: Ocma,
    account_id: str,
    platform: Platform,
    call: Callable[[AccountContext], Awaitable[T]],
    *,
    account: Account | None = None,
) -> T:
    """Run `call(ctx)`; on AuthExpired (or a token about to expire) refresh once and try again.

    `account` is a row the caller has just read (the engine's claim reads it); without it the row is read
    off the event loop.
    """
    if account is None:
        row, ctx = await asyncio.to_thread(load_context, ocma, account_id)
    else:
        row, ctx = account, context_of(ocma, account)
    version = row.token_version
    expires = ctx.tokens.expires_at
    if expires is not None and ctx.tokens.refresh_token and expires - EARLY_REFRESH < utcnow():
        ctx = await refresh_account(ocma, account_id, platform, version)
        fresh, ctx = await asyncio.to_thread(load_context, ocma, account_id)
        version = fresh.token_version
    try:
        return await call(ctx)
    except AuthExpired as exc:
        if not ctx.tokens.refresh_token:
            from ocma_core.services.accounts import mark_needs_reconnect

            reason = f" ({exc.message})" if exc.message else ""
            await asyncio.to_thread(
                mark_needs_reconnect,
                ocma,
                account_id,
                f"The platform refused the token{reason} and issued no refresh token.",
            )
            raise
        ctx = await refresh_account(ocma, account_id, platform, version)
    try:
        return await call(ctx)
    except AuthExpired as exc:
        from ocma_core.services.accounts import mark_needs_reconnect

        await asyncio.to_thread(
            mark_needs_reconnect, ocma, account_id, f"Token refused right after refresh: {exc.message}"
        )
        raise
