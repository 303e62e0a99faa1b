"""XRPC error responses ({"error": Name, "message": ...}) mapped onto OCMA's typed failures."""

from __future__ import annotations

import httpx

from ocma_core import AuthExpired, RateLimited, Rejected, Transient, Unconfirmed, retry_time

# Token problems (HTTP 400 or 401 depending on the service); the session must be refreshed or recreated.
AUTH_ERRORS = frozenset(
    {
        "ExpiredToken",
        "InvalidToken",
        "AuthMissing",
        "AuthenticationRequired",
        "AccountTakedown",
        "AccountDeactivated",
        "AuthFactorTokenRequired",
    }
)


def xrpc_error(response: httpx.Response) -> tuple[str, str]:
    """(error name, message) of an XRPC error body; the reason phrase when the body is not XRPC JSON."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return "", str(body)[:300]
    return str(body.get("error") or ""), str(body.get("message") or "")


def raise_for_xrpc(response: httpx.Response, *, effect: bool) -> None:
    """Raise the typed failure for a non-2xx XRPC response.

    429 RateLimitExceeded -> RateLimited (ratelimit-reset / Retry-After); ExpiredToken, InvalidToken and
    401s -> AuthExpired; 502/504 on a write -> Unconfirmed (a gateway gave up, the PDS may have written);
    other 5xx -> Transient; other 4xx -> Rejected with Bluesky's own error name and message.
    """
    status = response.status_code
    if status < 400:
        return
    name, message = xrpc_error(response)
    detail = f"{name}: {message}" if name and message else (name or message)
    if status == 429 or name == "RateLimitExceeded":
        raise RateLimited(
            f"Bluesky rate limit reached: {detail}",
            retry_at=retry_time(response),
            status=status,
            code=name or None,
        )
    if status == 401 or name in AUTH_ERRORS:
        if name == "AuthFactorTokenRequired":
            detail += " (sign in with an app password: Settings -> Privacy and security -> App passwords)"
        raise AuthExpired(f"Bluesky refused the session: {detail}", status=status, code=name or None)
    if status in (502, 504) and effect:
        raise Unconfirmed(
            f"Bluesky gateway error {status} on a write: {detail}", status=status, code=name or None
        )
    if status >= 500:
        raise Transient(f"Bluesky server error {status}: {detail}", status=status, code=name or None)
    raise Rejected(f"Bluesky refused the request ({status}): {detail}", status=status, code=name or None)
