"""Threads OAuth: code → short-lived token → 60-day token, refreshed with `th_refresh_token`.

Meta documents: `POST graph.threads.net/oauth/access_token` (client_id, client_secret, grant_type=
authorization_code, redirect_uri, code) answers `{access_token, user_id}` valid one hour; `GET /access_token?
grant_type=th_exchange_token&client_secret&access_token` a 60-day token; `GET /refresh_access_token?
grant_type=th_refresh_token&access_token` a new 60-day token for a token at least 24 hours old and unexpired.
There is no separate refresh token. As for Instagram, OCMA stores the long-lived token as its own refresh
token, `expires_at` = issue + 24 h (when the engine may refresh it) and `refresh_expires_at` = its real
expiry (after which only a new login helps; `ocma doctor` warns ahead): see `ocma_core.platforms.graph`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocma_core import TokenSet
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_core import AccountContext
    from ocma_threads.platform import ThreadsPlatform

SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_insights",
    "threads_manage_replies",
    "threads_read_replies",
    "threads_delete",
)


async def exchange_code(
    platform: ThreadsPlatform, code: str, redirect_uri: str, scopes: tuple[str, ...]
) -> TokenSet:
    """The code exchanged for a short-lived token, then that for a 60-day one."""
    short = await graph.request_token(
        platform,
        "POST",
        f"{platform.api_base}/oauth/access_token",
        {
            "client_id": platform.app_id,
            "client_secret": platform.app_secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code.removesuffix("#_"),
        },
        "authorisation code",
    )
    long_lived = await graph.exchange_short_lived(
        platform, f"{platform.api_base}/access_token", "th_exchange_token", str(short["access_token"])
    )
    tokens = graph.long_lived_tokens(long_lived, user_id=str(short.get("user_id") or "") or None)
    tokens.scopes = scopes
    return tokens


async def refresh(platform: ThreadsPlatform, ctx: AccountContext) -> TokenSet:
    """`th_refresh_token` with the (unexpired) long-lived token."""
    url = f"{platform.api_base}/refresh_access_token"
    return await graph.refresh_long_lived(platform, ctx, url, "th_refresh_token")
