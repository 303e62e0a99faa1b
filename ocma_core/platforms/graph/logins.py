"""Meta's two kinds of login, as OCMA stores them.

Instagram Login and Threads: a one-hour token is exchanged for a 60-day one (`ig_exchange_token`,
`th_exchange_token`) that refreshes itself (`ig_refresh_token`, `th_refresh_token`) once it is at least
24 hours old and not yet expired; there is no separate refresh token. OCMA stores the long-lived token as
its own refresh token, `expires_at` = issue + 24 h (when the engine may refresh it) and `refresh_expires_at`
= its real expiry (after which only a new login helps; `ocma doctor` warns ahead of it).

Facebook Login: the code gives a short-lived user token, `fb_exchange_token` a long-lived one (about 60
days); the account's token is a Page's, and there are no refresh tokens: the person logs in again before the
user token expires (`reconnect_by`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocma_core.errors import AuthExpired
from ocma_core.platforms.graph.platform import GraphPlatform
from ocma_core.platforms.graph.tokens import request_token, token_set
from ocma_core.platforms.types import AccountContext, TokenSet

#: A long-lived Instagram or Threads token can be refreshed once it is this old (and not yet expired).
REFRESHABLE_AFTER = timedelta(hours=24)


def long_lived_tokens(body: dict[str, Any], now: datetime | None = None, **extra: Any) -> TokenSet:
    """The TokenSet OCMA keeps for a self-refreshing long-lived token answer (see the module's docstring)."""
    now = now or datetime.now(UTC)
    tokens = token_set(body, now, **extra)
    real_expiry = tokens.expires_at
    due = now + REFRESHABLE_AFTER
    tokens.extra["token_expires_at"] = real_expiry.isoformat() if real_expiry else None
    tokens.refresh_token = tokens.access_token
    tokens.expires_at = min(due, real_expiry) if real_expiry else due
    tokens.refresh_expires_at = real_expiry
    return tokens


async def exchange_short_lived(
    platform: GraphPlatform, url: str, grant_type: str, short_token: str
) -> dict[str, Any]:
    """`GET url?grant_type=...&client_secret&access_token`: a short-lived token's long-lived one (the answer)."""
    return await request_token(
        platform,
        "GET",
        url,
        {"grant_type": grant_type, "client_secret": platform.app_secret, "access_token": short_token},
        "short-lived token exchange",
    )


async def refresh_long_lived(
    platform: GraphPlatform, ctx: AccountContext, url: str, grant_type: str
) -> TokenSet:
    """`GET url?grant_type=...&access_token` with the unexpired long-lived token; AuthExpired saying to log
    in again once it has expired or Meta refuses it."""
    service = platform.display_name or platform.name
    real_expiry = ctx.tokens.refresh_expires_at
    if real_expiry is not None and real_expiry <= datetime.now(UTC):
        raise AuthExpired(
            f"The {service} login expired on {real_expiry:%Y-%m-%d} (an expired token cannot be refreshed); "
            f"log in with {service} again to reconnect.",
            code="token_expired",
        )
    try:
        body = await request_token(
            platform,
            "GET",
            url,
            {"grant_type": grant_type, "access_token": ctx.tokens.access_token},
            "token refresh",
        )
    except AuthExpired as exc:
        raise AuthExpired(f"{exc.message} Log in with {service} again to reconnect.", code="190") from exc
    tokens = long_lived_tokens(body)
    tokens.scopes = ctx.tokens.scopes
    return tokens


async def facebook_user_token(platform: GraphPlatform, code: str, redirect_uri: str) -> dict[str, Any]:
    """Facebook Login's code exchanged for a short-lived user token, then that for a long-lived one (the
    answer), both at `GET /{version}/oauth/access_token`."""
    url = platform.graph_url("oauth/access_token")
    app = {"client_id": platform.app_id, "client_secret": platform.app_secret}
    short = await request_token(
        platform, "GET", url, {**app, "redirect_uri": redirect_uri, "code": code}, "authorisation code"
    )
    return await request_token(
        platform,
        "GET",
        url,
        {**app, "grant_type": "fb_exchange_token", "fb_exchange_token": str(short["access_token"])},
        "short-lived token exchange",
    )


def page_token_set(
    long_lived: dict[str, Any], page_token: str, extra: dict[str, Any], now: datetime | None = None
) -> TokenSet:
    """A Facebook Login account's tokens: a Page's token, with the long-lived user token's expiry as when to
    reconnect (`expires_at` and `reconnect_by` in `extra`)."""
    user = token_set(long_lived, now)
    if user.expires_at is not None:
        extra = {**extra, "reconnect_by": user.expires_at.isoformat()}
    return TokenSet(access_token=page_token, expires_at=user.expires_at, scopes=user.scopes, extra=extra)


def no_refresh_token(ctx: AccountContext, said: str) -> AuthExpired:
    """The AuthExpired a Facebook Login account's refresh raises: `said`, and until when the login was good."""
    by = ctx.settings.get("reconnect_by") or (
        ctx.tokens.expires_at.isoformat() if ctx.tokens.expires_at else ""
    )
    return AuthExpired(said + (f" (the login was good until {by})." if by else "."), code="no_refresh_token")
