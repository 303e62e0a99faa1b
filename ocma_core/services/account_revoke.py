"""Revoking an account's tokens at its platform when it is disconnected (best effort)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus
from ocma_core.platforms import AccountContext, Platform
from ocma_core.registry import get_platform

log = logging.getLogger(__name__)


def revoke_at_platform(ocma: Ocma, account: Account) -> bool:
    """Ask the platform to revoke a connected account's tokens (`Platform.revoke`); False when it could not
    (no plugin, no tokens, or the call failed: the tokens are forgotten all the same)."""
    if account.status is AccountStatus.DISCONNECTED or not account.access_token_enc:
        return False
    try:
        from ocma_core.services.accounts import account_context

        platform = get_platform(account.platform)
        ctx = account_context(ocma, account)
        _run(_revoke(platform, ctx))
    except Exception as exc:  # never keeps anyone from disconnecting
        log.warning("revoking %s at %s failed: %r", account.id, account.platform, exc)
        return False
    return True


async def _revoke(platform: Platform, ctx: AccountContext) -> None:
    try:
        await asyncio.wait_for(platform.revoke(ctx), timeout=15)
    finally:
        await platform.aclose()


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` to the end, in a thread of its own when this one already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()
