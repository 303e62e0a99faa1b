"""LinkedIn OAuth 2.0 (3-legged authorization code flow) token calls.

LinkedIn's web flow sends `client_id` and `client_secret` in the form body (not HTTP Basic) and has
no PKCE: LinkedIn documents PKCE only for native apps on loopback redirects, enabled per app on
request. Access tokens last 60 days. Refresh tokens are issued only to approved partner apps, with a
fixed 365-day lifetime from first issue that refreshing does not extend.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, Rejected, TokenSet, Transient
from ocma_linkedin.errors import error_body, message_of

if TYPE_CHECKING:
    from ocma_core import AccountContext
    from ocma_linkedin.platform import LinkedInPlatform

MEMBER_SCOPES = ("openid", "profile", "email", "w_member_social")
ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_social", "rw_organization_admin")
#: Restricted scopes of the Community Management API that unlock member analytics (optional).
MEMBER_POST_ANALYTICS = "r_member_postAnalytics"
MEMBER_PROFILE_ANALYTICS = "r_member_profileAnalytics"


def resolve_scopes(value: str | None) -> tuple[str, ...]:
    """Scopes from OCMA_LINKEDIN_SCOPES: literal scopes, or the keywords `member` / `organization`."""
    words = (value or "member").replace(",", " ").split()
    scopes: list[str] = []
    for word in words:
        expanded = {"member": MEMBER_SCOPES, "organization": ORGANIZATION_SCOPES}.get(word.lower(), (word,))
        scopes.extend(s for s in expanded if s not in scopes)
    return tuple(scopes)


def token_set(
    body: dict[str, Any], *, previous: TokenSet | None = None, now: datetime | None = None
) -> TokenSet:
    """A TokenSet from LinkedIn's token response; `reconnect_by` says when the account must be reconnected."""
    now = now or datetime.now(UTC)
    expires_in = body.get("expires_in")
    refresh_in = body.get("refresh_token_expires_in")
    refresh = body.get("refresh_token") or (previous.refresh_token if previous else None)
    expires_at = now + timedelta(seconds=int(expires_in)) if expires_in else None
    refresh_expires_at = now + timedelta(seconds=int(refresh_in)) if refresh_in else None
    if refresh and refresh_expires_at is None and previous is not None:
        refresh_expires_at = previous.refresh_expires_at
    scopes = tuple(str(body.get("scope") or "").replace(",", " ").split())
    if not scopes and previous is not None:
        scopes = previous.scopes
    reconnect_by = refresh_expires_at if refresh else expires_at
    extra: dict[str, Any] = {}
    if reconnect_by is not None:
        extra["reconnect_by"] = reconnect_by.isoformat()
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=refresh,
        expires_at=expires_at,
        refresh_expires_at=refresh_expires_at if refresh else None,
        scopes=scopes,
        extra=extra,
    )


async def _token_request(platform: LinkedInPlatform, form: dict[str, str], what: str) -> dict[str, Any]:
    client = platform.oauth_client()
    data = {**form, "client_id": client.client_id, "client_secret": client.client_secret or ""}
    response = await platform.send(
        "POST",
        client.token_url,
        data=data,
        expect_effect=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    body = error_body(response)
    if response.status_code >= 500:
        raise Transient(
            f"LinkedIn's token endpoint failed ({response.status_code}).", status=response.status_code
        )
    if response.status_code >= 400 or "access_token" not in body:
        error = str(body.get("error") or "")
        message = f"LinkedIn refused the {what}: {message_of(response, body)}"
        if error in ("invalid_grant", "invalid_request", "invalid_token") or response.status_code == 401:
            raise AuthExpired(message, status=response.status_code, code=error or None)
        raise Rejected(message, status=response.status_code, code=error or None)
    return body


async def exchange_code(platform: LinkedInPlatform, code: str, redirect_uri: str) -> TokenSet:
    """POST /oauth/v2/accessToken with grant_type=authorization_code."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return token_set(await _token_request(platform, form, "authorisation code"))


def reconnect_message(ctx: AccountContext) -> str:
    """Why a refresh is impossible and by when the user must reconnect."""
    expires = ctx.tokens.expires_at
    when = f"by {expires.astimezone(UTC):%Y-%m-%d}" if expires else "now"
    return (
        "LinkedIn issued no refresh token for this account: LinkedIn gives refresh tokens only to approved "
        f"partner apps. The access token lasts 60 days; reconnect the account {when} "
        f"(access token expiry: {expires.isoformat() if expires else 'unknown'})."
    )


async def refresh(platform: LinkedInPlatform, ctx: AccountContext) -> TokenSet:
    """POST /oauth/v2/accessToken with grant_type=refresh_token (the refresh token does not rotate)."""
    if not ctx.tokens.refresh_token:
        raise AuthExpired(reconnect_message(ctx), code="no_refresh_token")
    refresh_expires = ctx.tokens.refresh_expires_at
    if refresh_expires is not None and refresh_expires <= datetime.now(UTC):
        raise AuthExpired(
            f"The LinkedIn refresh token expired on {refresh_expires:%Y-%m-%d} (365 days after first "
            "authorisation, never extended); reconnect the account.",
            code="refresh_token_expired",
        )
    form = {"grant_type": "refresh_token", "refresh_token": ctx.tokens.refresh_token}
    return token_set(await _token_request(platform, form, "refresh token"), previous=ctx.tokens)
