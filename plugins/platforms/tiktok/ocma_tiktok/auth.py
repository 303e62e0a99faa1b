"""Login Kit v2: the code exchange, rotating refresh tokens and revocation.

TikTok documents (developers.tiktok.com/doc/oauth-user-access-token-management, login-kit-web,
login-kit-desktop): `POST /v2/oauth/token/` with a form of `client_key`, `client_secret`, `code`,
`grant_type=authorization_code`, `redirect_uri` (and `code_verifier` where PKCE is used) answers
`{open_id, scope, access_token, expires_in, refresh_token, refresh_expires_in, token_type}`. A refresh sends
`grant_type=refresh_token`; the answer carries a new refresh token and the old one stops working, so the
returned pair must replace the stored one at once (the engine refreshes under the account's lease and
stores both tokens in one update). `POST /v2/oauth/revoke/` ends the authorisation on disconnect.
Errors of these endpoints are flat: `{error, error_description, log_id}`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, Rejected, TokenSet, Transient

if TYPE_CHECKING:
    from ocma_core import AccountContext
    from ocma_tiktok.platform import TikTokPlatform

SCOPES = ("user.info.basic", "user.info.stats", "video.publish", "video.upload", "video.list")
#: OAuth errors that mean the code or refresh token is dead: a new login is needed.
DEAD_GRANT = frozenset({"invalid_grant", "access_denied", "invalid_request", "expired_token"})


def token_set(body: dict[str, Any], now: datetime | None = None) -> TokenSet:
    """The TokenSet of a token answer, honouring `expires_in` and `refresh_expires_in`."""
    now = now or datetime.now(UTC)
    expires_in, refresh_in = body.get("expires_in"), body.get("refresh_expires_in")
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        scopes=tuple(str(body.get("scope") or "").replace(",", " ").split()),
        extra={"open_id": str(body.get("open_id") or "")},
    )


async def token_request(platform: TikTokPlatform, form: dict[str, str], what: str) -> dict[str, Any]:
    """POST the token endpoint with the app's key and secret; the answer, or the typed failure."""
    fields = {"client_key": platform.client_key, "client_secret": platform.client_secret, **form}
    response = await platform.send(
        "POST",
        f"{platform.api_base}/v2/oauth/token/",
        data=fields,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-cache"},
        expect_effect=False,
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise Transient(f"TikTok's token endpoint failed ({response.status_code}) during the {what}.")
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    if error or response.status_code >= 400 or not body.get("access_token"):
        text = str(body.get("error_description") or error or f"HTTP {response.status_code}")
        log_id = str(body.get("log_id") or "")
        said = f"TikTok refused the {what}: {text}" + (f" (log_id {log_id})" if log_id else "")
        if error == "invalid_client":
            raise Rejected(said + ". Check OCMA_TIKTOK_CLIENT_KEY and OCMA_TIKTOK_CLIENT_SECRET.", code=error)
        raise AuthExpired(said, status=response.status_code, code=error or "token")
    return dict(body)


async def exchange_code(
    platform: TikTokPlatform, code: str, code_verifier: str | None, redirect_uri: str
) -> TokenSet:
    """The authorisation code exchanged for the first token pair."""
    from urllib.parse import unquote

    form = {"code": unquote(code), "grant_type": "authorization_code", "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    return token_set(await token_request(platform, form, "authorisation code"))


async def refresh(platform: TikTokPlatform, ctx: AccountContext) -> TokenSet:
    """A new access token and a new refresh token (the old refresh token dies with this call)."""
    refresh_token = ctx.tokens.refresh_token
    expiry = ctx.tokens.refresh_expires_at
    if not refresh_token or (expiry is not None and expiry <= datetime.now(UTC)):
        raise AuthExpired(
            "The TikTok authorisation expired (its refresh token is past refresh_expires_in); "
            "connect the account again.",
            code="refresh_expired",
        )
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    try:
        body = await token_request(platform, form, "token refresh")
    except AuthExpired as exc:
        raise AuthExpired(f"{exc.message}. Connect the TikTok account again.", code=exc.code) from exc
    tokens = token_set(body)
    if not tokens.extra.get("open_id"):
        tokens.extra["open_id"] = ctx.external_id
    return tokens


async def revoke(platform: TikTokPlatform, ctx: AccountContext) -> None:
    """End the authorisation at TikTok (`POST /v2/oauth/revoke/`); a token already dead counts as revoked."""
    response = await platform.send(
        "POST",
        f"{platform.api_base}/v2/oauth/revoke/",
        data={
            "client_key": platform.client_key,
            "client_secret": platform.client_secret,
            "token": ctx.tokens.access_token,
        },
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        expect_effect=False,
    )
    if response.status_code >= 500:
        raise Transient(f"TikTok's revoke endpoint failed ({response.status_code}).")
