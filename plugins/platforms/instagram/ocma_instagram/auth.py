"""Instagram Login (Business Login for Instagram): code → short-lived token → 60-day token → refreshed.

Meta documents: the code (Meta appends `#_` to the redirect; it is not part of the code) is exchanged at
`POST https://api.instagram.com/oauth/access_token` for a one-hour token; `GET graph.instagram.com/
access_token?grant_type=ig_exchange_token` gives a 60-day one; `GET /refresh_access_token?grant_type=
ig_refresh_token` gives a new 60-day token for a token at least 24 hours old and not yet expired. There is
no separate refresh token: the long-lived token refreshes itself.

How OCMA stores that (`ocma_core.platforms.graph.long_lived_tokens`): `refresh_token` holds the same
long-lived token (so the engine knows the account can be refreshed), `expires_at` is when it becomes
refreshable (issue + 24 h: the engine refreshes the first time the account is used after that) and
`refresh_expires_at` is its real expiry, after which only a new login helps (`ocma doctor` warns ahead of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, TokenSet
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_core import AccountContext
    from ocma_instagram.platform import InstagramPlatform

SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_insights",
    "instagram_business_manage_comments",
)


async def exchange_code(platform: InstagramPlatform, code: str, redirect_uri: str) -> TokenSet:
    """The code exchanged for a short-lived token, then that for a 60-day one."""
    code = code.removesuffix("#_")
    answer = await _code_answer(platform, code, redirect_uri)
    short = answer["access_token"]
    long_lived = await graph.exchange_short_lived(
        platform, f"{platform.api_base}/access_token", "ig_exchange_token", short
    )
    permissions = answer.get("permissions")
    if isinstance(permissions, list):
        permissions = ",".join(str(p) for p in permissions)
    return graph.long_lived_tokens(
        {**long_lived, "permissions": permissions or ""}, user_id=answer.get("user_id")
    )


async def _code_answer(platform: InstagramPlatform, code: str, redirect_uri: str) -> dict[str, Any]:
    """POST /oauth/access_token; Meta answers `{"data": [{access_token, user_id, permissions}]}` (older
    documents show the entry itself at the top level: both are read)."""
    response = await platform.send(
        "POST",
        f"{platform.oauth_api_base}/oauth/access_token",
        data={
            "client_id": platform.app_id,
            "client_secret": platform.app_secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        },
        expect_effect=False,
    )
    if response.status_code >= 400:
        err = graph.graph_error(response)
        if response.status_code >= 500:
            graph.raise_for_graph(response, "Instagram")
        raise AuthExpired(f"Instagram refused the authorisation code: {err.text}", status=err.status)
    body = response.json()
    entries = body.get("data") if isinstance(body, dict) else None
    entry = entries[0] if isinstance(entries, list) and entries else body
    if not isinstance(entry, dict) or not entry.get("access_token"):
        raise AuthExpired("Instagram answered the authorisation code without an access token.")
    return entry


async def refresh(platform: InstagramPlatform, ctx: AccountContext) -> TokenSet:
    """`GET /refresh_access_token?grant_type=ig_refresh_token` with the (unexpired) long-lived token."""
    url = f"{platform.api_base}/refresh_access_token"
    return await graph.refresh_long_lived(platform, ctx, url, "ig_refresh_token")
