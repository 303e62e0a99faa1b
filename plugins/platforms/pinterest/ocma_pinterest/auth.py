"""Pinterest OAuth: the client (HTTP Basic client authentication), continuous refresh tokens and revocation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import (
    AccountContext,
    AuthExpired,
    OAuthClient,
    RateLimited,
    Rejected,
    TokenSet,
    Transient,
    error_detail,
    retry_time,
)

if TYPE_CHECKING:
    from ocma_pinterest.platform import PinterestPlatform

#: what creating pins, reading boards, analytics and the account need (platform-contracts §7.1)
SCOPES = ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read")
TRUE = ("1", "true", "yes", "on")


def oauth_client(platform: PinterestPlatform) -> OAuthClient:
    """Authorize at www.pinterest.com/oauth/ (comma-separated scopes); tokens at /v5/oauth/token with Basic."""
    return OAuthClient(
        authorize_url=f"{platform.auth_base}/oauth/",
        token_url=f"{platform.api_base}/oauth/token",
        client_id=platform.require_setting("CLIENT_ID"),
        client_secret=platform.require_setting("CLIENT_SECRET"),
        scopes=SCOPES,
        pkce=False,  # Pinterest documents no PKCE for this flow; the state parameter guards the callback
        scope_separator=",",
    )


def basic_header(client: OAuthClient) -> dict[str, str]:
    """HTTP Basic client authentication, as Pinterest's token endpoints require."""
    raw = f"{client.client_id}:{client.client_secret or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def token_set(body: dict[str, Any], previous_refresh: str | None) -> TokenSet:
    """A TokenSet from Pinterest's token response (refresh expiry from `refresh_token_expires_at` or `_in`)."""
    now = datetime.now(UTC)
    expires_in = body.get("expires_in")
    refresh_at: datetime | None = None
    if isinstance(body.get("refresh_token_expires_at"), int):
        refresh_at = datetime.fromtimestamp(body["refresh_token_expires_at"], UTC)
    elif isinstance(body.get("refresh_token_expires_in"), int):
        refresh_at = now + timedelta(seconds=body["refresh_token_expires_in"])
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or previous_refresh or "") or None,
        expires_at=now + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int) else None,
        refresh_expires_at=refresh_at,
        scopes=tuple(str(body.get("scope") or "").replace(",", " ").split()),
    )


def raise_for_token_error(status: int, response: Any, what: str) -> None:
    """Typed failures for the token endpoints: 5xx Transient, 429 RateLimited, 400/401 AuthExpired."""
    if status < 400:
        return
    detail = error_detail(response)
    if status >= 500:
        raise Transient(f"Pinterest's token endpoint failed ({status}): {detail}", status=status)
    if status == 429:
        raise RateLimited(f"Pinterest rate limit on {what}: {detail}", retry_at=retry_time(response))
    if status in (400, 401):
        raise AuthExpired(f"Pinterest refused the {what}: {detail}. Reconnect the account.", status=status)
    raise Rejected(f"Pinterest refused the {what} ({status}): {detail}", status=status)


async def refresh(platform: PinterestPlatform, ctx: AccountContext) -> TokenSet:
    """grant_type=refresh_token with Basic auth; `continuous_refresh=true` for apps made before 2025-09-25."""
    if not ctx.tokens.refresh_token:
        raise AuthExpired("Pinterest issued no refresh token; reconnect the account.")
    client = platform.oauth_client()
    form = {"grant_type": "refresh_token", "refresh_token": ctx.tokens.refresh_token}
    if (platform.setting("CONTINUOUS_REFRESH") or "").lower() in TRUE:
        form["continuous_refresh"] = "true"
    response = await platform.send(
        "POST", client.token_url, ctx=ctx, bucket="org_read", expect_effect=False,
        headers=basic_header(client), data=form,
    )  # fmt: skip
    raise_for_token_error(response.status_code, response, "refresh token")
    body = response.json()
    if not isinstance(body, dict) or "access_token" not in body:
        raise Transient("Pinterest answered the refresh without an access token.")
    return token_set(body, ctx.tokens.refresh_token)


async def revoke(platform: PinterestPlatform, ctx: AccountContext) -> None:
    """POST /oauth/token/revoke (Basic) for the refresh token, else the access token."""
    client = platform.oauth_client()
    token, hint = (
        (ctx.tokens.refresh_token, "refresh_token")
        if ctx.tokens.refresh_token
        else (ctx.tokens.access_token, "access_token")
    )
    response = await platform.send(
        "POST", f"{platform.api_base}/oauth/token/revoke", ctx=ctx, bucket="org_write",
        expect_effect=False, headers=basic_header(client), data={"token": token, "token_type_hint": hint},
    )  # fmt: skip
    if response.status_code == 400:
        return  # a token Pinterest no longer knows needs no revoking
    if response.status_code in (401, 403):  # the app's own credentials were refused (spec: 401, 403)
        raise Rejected(
            f"Pinterest refused to revoke the token: {error_detail(response)}", status=response.status_code
        )
    raise_for_token_error(response.status_code, response, "token revocation")
