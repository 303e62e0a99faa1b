"""Mapping LinkedIn error responses onto OCMA's typed failures.

LinkedIn's error body is `{"status": 401, "serviceErrorCode": 65600, "code": "...", "message": "..."}`;
validation errors add `errorDetails.inputErrors[].code` (e.g. DUPLICATE_POST). LinkedIn sends no
rate-limit headers and documents daily quotas that reset at midnight UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AuthExpired, RateLimited, Rejected, Transient, Unconfirmed

if TYPE_CHECKING:
    import httpx

#: serviceErrorCode values LinkedIn sends with 401 for an invalid (65600) or revoked (65601) token.
TOKEN_ERROR_CODES = frozenset({65600, 65601})


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON error body, or {} when there is none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def input_error_codes(body: dict[str, Any]) -> list[str]:
    """Codes of `errorDetails.inputErrors` (e.g. DUPLICATE_POST)."""
    details = body.get("errorDetails")
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")]


def message_of(response: httpx.Response, body: dict[str, Any]) -> str:
    """LinkedIn's own words for the error."""
    message = body.get("message") or body.get("error_description") or body.get("error")
    if isinstance(message, str) and message:
        return message
    return response.text[:300] or response.reason_phrase


def next_midnight_utc(now: datetime | None = None) -> datetime:
    """When LinkedIn's daily quotas reset: the next midnight UTC."""
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def retry_at(response: httpx.Response, now: datetime | None = None) -> datetime:
    """Retry-After when present (infrastructure throttling), else the daily reset at midnight UTC."""
    now = now or datetime.now(UTC)
    value = response.headers.get("retry-after")
    if value:
        try:
            return now + timedelta(seconds=float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return parsedate_to_datetime(value).astimezone(UTC)
            except (TypeError, ValueError):
                pass
    return next_midnight_utc(now)


def raise_for_linkedin(response: httpx.Response, *, creates_post: bool = False) -> None:
    """Raise the typed failure for a non-2xx LinkedIn response; return quietly on success.

    `creates_post` marks POST /rest/posts: a 5xx there may come after LinkedIn stored the post
    (LinkedIn documents 500 for internal errors and 504 when it "took too long to process"), and the
    Posts API has no idempotency key, so the outcome is Unconfirmed until find_published looks.
    """
    status = response.status_code
    if status < 400:
        return
    body = error_body(response)
    message = message_of(response, body)
    service_code = body.get("serviceErrorCode")
    code = str(body.get("code") or service_code or "") or None
    if status == 429:
        raise RateLimited(
            f"LinkedIn rate limit reached: {message}", retry_at=retry_at(response), status=status, code=code
        )
    if status == 401:
        kind = "revoked" if service_code == 65601 else "invalid or expired"
        raise AuthExpired(f"LinkedIn refused the access token ({kind}): {message}", status=status, code=code)
    if status == 426:
        raise Rejected(
            f"LinkedIn no longer serves this API version: {message}. Set OCMA_LINKEDIN_VERSION to a current "
            "YYYYMM version (see learn.microsoft.com/linkedin/marketing/versioning).",
            status=status,
            code=code,
        )
    if status >= 500:
        if creates_post:
            raise Unconfirmed(
                f"LinkedIn answered {status} while creating the post; it may exist: {message}",
                status=status,
                code=code,
            )
        raise Transient(f"LinkedIn server error {status}: {message}", status=status, code=code)
    duplicate = "DUPLICATE_POST" in input_error_codes(body) or "is a duplicate of" in message
    if duplicate:
        raise Rejected(f"LinkedIn refused a duplicate post: {message}", status=status, code="DUPLICATE_POST")
    if status == 403:
        raise Rejected(
            f"LinkedIn denied access ({code or 'ACCESS_DENIED'}): {message}",
            status=status,
            code=code or "ACCESS_DENIED",
        )
    raise Rejected(f"LinkedIn refused the request ({status}): {message}", status=status, code=code)
