"""Legacy (app password) sessions: createSession / refreshSession responses to TokenSets.

Session calls go to the service the user logged in at (the entryway, https://bsky.social by default);
every other call goes to the account's own PDS, read from the DID document the session returns
(the service with id `#atproto_pds` / type `AtprotoPersonalDataServer`), as @atproto/api's
CredentialSession does.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ocma_core import ConfigError, TokenSet

APP_PASSWORD_SCOPES = ("com.atproto.appPass", "com.atproto.appPassPrivileged")
FULL_ACCESS_SCOPE = "com.atproto.access"


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) payload of a JWT; {} when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, json.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _expiry(token: str) -> datetime | None:
    exp = jwt_claims(token).get("exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


def origin_of(url: str, what: str) -> str:
    """`scheme://host[:port]` of a service URL; a path, query or user name is refused (XRPC paths are ours)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
        or parts.path.strip("/")
    ):
        raise ConfigError(
            f"{url[:200]!r} is not a Bluesky {what} address.",
            fix="Give the server's address only, e.g. https://bsky.social (no path).",
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def pds_endpoint(did_doc: Any) -> str | None:
    """The PDS URL in a DID document, if it names one."""
    if not isinstance(did_doc, dict):
        return None
    for service in did_doc.get("service") or []:
        if not isinstance(service, dict):
            continue
        kind_ok = service.get("type") == "AtprotoPersonalDataServer"
        id_ok = str(service.get("id", "")).endswith("#atproto_pds")
        endpoint = service.get("serviceEndpoint")
        if (kind_ok or id_ok) and isinstance(endpoint, str) and endpoint.startswith(("http://", "https://")):
            return endpoint.rstrip("/")
    return None


def token_set(body: dict[str, Any], service: str) -> TokenSet:
    """A TokenSet from a session response; extra carries did, handle, service and PDS for later calls."""
    access, refresh = str(body["accessJwt"]), str(body["refreshJwt"])
    scope = jwt_claims(access).get("scope")
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=_expiry(access),
        refresh_expires_at=_expiry(refresh),
        scopes=(scope,) if isinstance(scope, str) else (),
        extra={
            "did": str(body["did"]),
            "handle": str(body.get("handle", "")),
            "service": service,
            "pds": pds_endpoint(body.get("didDoc")) or service,
        },
    )


def is_full_access(tokens: TokenSet) -> bool:
    """True when the session was made with the account password rather than an app password."""
    return FULL_ACCESS_SCOPE in tokens.scopes
