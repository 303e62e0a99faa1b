"""Core tool for account settings: change what a platform lets a person set on a connected account."""

from __future__ import annotations

from typing import Any

from ocma_agent.context import ToolContext
from ocma_core.app.accounts import settings_view, update_account_settings


async def set_account_setting(ctx: ToolContext, account_id: str, name: str, value: str) -> dict[str, Any]:
    """Change one setting of a connected account, e.g. a Pinterest account's default_board (id or name);
    list_accounts shows each account's settings and the choices there are.

    Args:
        account_id: The account (from list_accounts).
        name: The setting's name, e.g. "default_board".
        value: The new value, e.g. a board's name or id.
    """
    account = await update_account_settings(ctx.ocma, ctx.workspace_id, account_id, {name: value})
    return {"account_id": account.id, "handle": account.handle, "settings": settings_view(account)}
