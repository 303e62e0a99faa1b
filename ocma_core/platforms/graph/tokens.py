"""Graph's token calls: `appsecret_proof`, token answers and the token endpoints."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ocma_core.errors import AuthExpired, Rejected, Transient
from ocma_core.platforms.base import Platform
from ocma_core.platforms.graph.errors import RATE_CODES, TRANSIENT_CODES, graph_error, raise_for_graph
from ocma_core.platforms.types import TokenSet


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """hex(HMAC-SHA256(key=app secret, msg=access token)): Graph's `appsecret_proof` parameter."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def token_set(body: Mapping[str, Any], now: datetime | None = None, **extra: Any) -> TokenSet:
    """A TokenSet from a Graph token answer `{access_token, token_type, expires_in}` (no refresh tokens)."""
    now = now or datetime.now(UTC)
    expires_in = body.get("expires_in")
    expires_at = now + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int | float) else None
    scopes = tuple(str(body.get("permissions") or body.get("scope") or "").replace(",", " ").split())
    data = {k: v for k, v in extra.items() if v is not None}
    if body.get("user_id") is not None:
        data.setdefault("user_id", str(body["user_id"]))
    return TokenSet(access_token=str(body["access_token"]), expires_at=expires_at, scopes=scopes, extra=data)


async def request_token(
    platform: Platform, method: str, url: str, params: Mapping[str, str], what: str
) -> dict[str, Any]:
    """Call a Graph token endpoint (params in the query for GET, in the form for POST); the JSON answer.

    A refused code or token is AuthExpired (reconnect), other refusals Rejected, server errors Transient.
    """
    service = platform.display_name or platform.name
    if method.upper() == "GET":
        response = await platform.send("GET", url, params=dict(params), expect_effect=False)
    else:
        response = await platform.send("POST", url, data=dict(params), expect_effect=False)
    if response.status_code >= 400:
        err = graph_error(response)
        if response.status_code >= 500 or err.code in TRANSIENT_CODES:
            raise Transient(f"{service}'s token endpoint failed: {err.text}", status=response.status_code)
        if err.code in RATE_CODES:
            raise_for_graph(response, service)
        raise AuthExpired(f"{service} refused the {what}: {err.text}", status=response.status_code)
    body = response.json()
    if not isinstance(body, dict) or not body.get("access_token"):
        raise Rejected(f"{service} answered the {what} without an access token.")
    return body
