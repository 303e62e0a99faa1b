"""Revoking an account's tokens at its platform when it is disconnected (Platform.revoke)."""

from __future__ import annotations

import asyncio
import logging

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus
from ocma_core.errors import OcmaError, PlatformError
from ocma_core.platforms import Platform
from ocma_core.registry import get_platform

log = logging.getLogger(__name__)


def revoke_tokens(ocma: Ocma, account: Account) -> str | None:
    """Revoke a connected account's tokens at the platform when its plugin can (Platform.revoke); best effort:
    what went wrong, or None. Disconnecting goes on either way (OCMA forgets the tokens regardless)."""
    if account.status is AccountStatus.DISCONNECTED or not account.access_token_enc:
        return None
    try:
        platform = get_platform(account.platform)
        if type(platform).revoke is Platform.revoke:
            return None
        from ocma_core.services.accounts import account_context

        asyncio.run(platform.revoke(account_context(ocma, account)))
    except (OcmaError, PlatformError) as exc:
        log.warning("could not revoke the tokens of account %s: %s", account.id, exc)
        return str(exc)
    except Exception as exc:  # a plugin's bug must not keep an account connected
        log.exception("revoking the tokens of account %s failed", account.id)
        return repr(exc)
    return None
