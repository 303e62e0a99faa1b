"""Connected accounts and the platforms they are on.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.registry import get_platform, get_platforms
from ocma_core.services.account_settings import settings_view, update_account_settings
from ocma_core.services.accounts import list_accounts, start_connect
from ocma_core.services.oauth_browser import start_link

__all__ = [
    "get_platform",
    "get_platforms",
    "list_accounts",
    "settings_view",
    "start_connect",
    "start_link",
    "update_account_settings",
]
