"""Threads OAuth: code → short-lived token → 60-day token, refreshed with `th_refresh_token`.

Meta documents: `POST graph.threads.net/oauth/access_token` (client_id, client_secret, grant_type=
authorization_code, redirect_uri, code) answers `{access_token, user_id}` valid one hour; `GET /access_token?
grant_type=th_exchange_token&client_secret&access_token` a 60-day token; `GET /refresh_access_token?
grant_type=th_refresh_token&access_token` a new 60-day token for a token at least 24 hours old and unexpired.
There is no separate refresh token. As for Instagram, OCMA stores the long-lived token as its own refresh
token, `expires_at` = issue + 24 h (when the engine may refresh it) and `refresh_expires_at` = its real
expiry (after which only a new login helps; `ocma doctor` warns ahead).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, TokenSet
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
REFRESHABLE_AFTER = timedelta(hours=24)


def stored_tokens(body: dict[str, Any], now: datetime | None = None, **extra: Any) -> TokenSet:
    """The TokenSet OCMA keeps for a long-lived token answer (see the module's docstring)."""
    now = now or datetime.now(UTC)
    tokens = graph.token_set(body, now, **extra)
    real_expiry = tokens.expires_at
    due = now + REFRESHABLE_AFTER
    tokens.extra["token_expires_at"] = real_expiry.isoformat() if real_expiry else None
    tokens.refresh_token = tokens.access_token
    tokens.expires_at = min(due, real_expiry) if real_expiry else due
    tokens.refresh_expires_at = real_expiry
    return tokens


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
    long_lived = await graph.request_token(
        platform,
        "GET",
        f"{platform.api_base}/access_token",
        {
            "grant_type": "th_exchange_token",
            "client_secret": platform.app_secret,
            "access_token": str(short["access_token"]),
        },
        "short-lived token exchange",
    )
    tokens = stored_tokens(long_lived, user_id=str(short.get("user_id") or "") or None)
    tokens.scopes = scopes
    return tokens


async def refresh(platform: ThreadsPlatform, ctx: AccountContext) -> TokenSet:
    """`th_refresh_token` with the (unexpired) long-lived token."""
    real_expiry = ctx.tokens.refresh_expires_at
    if real_expiry is not None and real_expiry <= datetime.now(UTC):
        raise AuthExpired(
            f"The Threads login expired on {real_expiry:%Y-%m-%d} (an expired token cannot be refreshed); "
            "log in with Threads again to reconnect.",
            code="token_expired",
        )
    try:
        body = await graph.request_token(
            platform,
            "GET",
            f"{platform.api_base}/refresh_access_token",
            {"grant_type": "th_refresh_token", "access_token": ctx.tokens.access_token},
            "token refresh",
        )
    except AuthExpired as exc:
        raise AuthExpired(f"{exc.message} Log in with Threads again to reconnect.", code="190") from exc
    tokens = stored_tokens(body)
    tokens.scopes = ctx.tokens.scopes
    return tokens
