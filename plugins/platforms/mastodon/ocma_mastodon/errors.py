"""Mastodon error responses ({"error": "..."}) mapped onto OCMA's typed failures."""

from __future__ import annotations

import httpx

from ocma_core import AuthExpired, RateLimited, Rejected, Transient, Unconfirmed, error_detail, retry_time

RECONNECT = (
    "Mastodon access tokens never expire, so it was revoked (or the app was removed): reconnect the account."
)


def raise_for_mastodon(response: httpx.Response, *, effect: bool) -> None:
    """Raise the typed failure for a non-2xx response.

    429 -> RateLimited at X-RateLimit-Reset (ISO 8601); 401 (invalid or revoked token) and 403 (scope missing,
    login disabled) -> AuthExpired; 422 and other 4xx -> Rejected with Mastodon's message; 502/504 on a write
    -> Unconfirmed (a proxy gave up; the Idempotency-Key makes a retry safe); other 5xx -> Transient.
    """
    status = response.status_code
    if status < 400:
        return
    detail = error_detail(response)
    if status == 429:
        raise RateLimited(
            f"Mastodon rate limit reached: {detail}", retry_at=retry_time(response), status=status
        )
    if status == 401:
        raise AuthExpired(f"Mastodon refused the token ({detail}). {RECONNECT}", status=status)
    if status == 403:
        raise AuthExpired(
            f"Mastodon refused the action ({detail}). Reconnect the account to grant OCMA's scopes.",
            status=status,
        )
    if status in (502, 504) and effect:
        raise Unconfirmed(f"Mastodon gateway error {status}: {detail}", status=status)
    if status >= 500:
        raise Transient(f"Mastodon server error {status}: {detail}", status=status)
    raise Rejected(f"Mastodon refused the request ({status}): {detail}", status=status)
