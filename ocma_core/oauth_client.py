"""Generic OAuth 2.0 authorization-code client pieces: PKCE, authorize URL, code exchange, refresh."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ocma_core.errors import AuthExpired, Rejected, Transient
from ocma_core.platforms.types import AccountContext, OAuthClient, TokenSet

if TYPE_CHECKING:
    from ocma_core.platforms.base import Platform


def new_code_verifier() -> str:
    """A PKCE code verifier: 64 url-safe characters (RFC 7636 allows 43-128)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(client: OAuthClient, *, state: str, redirect_uri: str, verifier: str | None) -> str:
    """The URL that sends the user to the platform's consent screen."""
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": client.scope_separator.join(client.scopes),
        "state": state,
    }
    if client.pkce and verifier:
        params["code_challenge"] = code_challenge(verifier)
        params["code_challenge_method"] = "S256"
    params.update(dict(client.extra_authorize_params))
    separator = "&" if "?" in client.authorize_url else "?"
    return f"{client.authorize_url}{separator}{urlencode(params)}"


def _auth(client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
    """Confidential clients use HTTP Basic; public clients send client_id in the form."""
    if client.client_secret:
        raw = f"{client.client_id}:{client.client_secret}".encode()
        return {"headers": {"Authorization": "Basic " + base64.b64encode(raw).decode()}, "data": form}
    return {"data": {**form, "client_id": client.client_id}}


def token_set_from_response(body: dict[str, Any], previous_refresh: str | None = None) -> TokenSet:
    """Build a TokenSet from a standard token response."""
    now = datetime.now(UTC)
    expires_in = body.get("expires_in")
    refresh_in = body.get("refresh_token_expires_in")
    scope = body.get("scope") or ""
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token") or previous_refresh,
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        scopes=tuple(scope.replace(",", " ").split()),
    )


async def _token_request(
    platform: Platform, form: dict[str, str], what: str, options: Mapping[str, str] | None = None
) -> dict[str, Any]:
    client = platform.oauth_client(options)
    response = await platform.send("POST", client.token_url, expect_effect=False, **_auth(client, form))
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise Transient(f"{platform.name} token endpoint failed ({response.status_code}).")
    if response.status_code >= 400 or "access_token" not in body:
        error = body.get("error", "") if isinstance(body, dict) else ""
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        message = f"{platform.name} refused the {what}: {error} {description}".strip()
        if error in ("invalid_grant", "invalid_request", "invalid_token") or response.status_code == 401:
            raise AuthExpired(message, status=response.status_code, code=error or None)
        raise Rejected(message, status=response.status_code, code=error or None)
    return dict(body)


async def exchange_code(
    platform: Platform,
    code: str,
    verifier: str | None,
    redirect_uri: str,
    options: Mapping[str, str] | None = None,
) -> TokenSet:
    """Exchange an authorisation code (with the PKCE verifier when used)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        form["code_verifier"] = verifier
    return token_set_from_response(await _token_request(platform, form, "authorisation code", options))


async def refresh_token(platform: Platform, ctx: AccountContext) -> TokenSet:
    """Use the refresh token; keeps the old refresh token when the platform does not rotate it."""
    if not ctx.tokens.refresh_token:
        raise AuthExpired(f"{platform.name} issued no refresh token; the account must be reconnected.")
    form = {"grant_type": "refresh_token", "refresh_token": ctx.tokens.refresh_token}
    body = await _token_request(platform, form, "refresh token")
    return token_set_from_response(body, previous_refresh=ctx.tokens.refresh_token)
