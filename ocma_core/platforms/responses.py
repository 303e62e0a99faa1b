"""Reading platform responses: rate-limit resets, retry times, error codes, error text and counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def parse_reset(value: str | None, now: datetime | None = None) -> datetime | None:
    """A reset header as UTC: unix seconds, or seconds from now when the number is small, or an ISO date."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    try:
        number = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if number > 1_000_000_000:
        return datetime.fromtimestamp(number, UTC)
    return now + timedelta(seconds=number)


def error_code(response: httpx.Response) -> str | None:
    """The platform's error code in a JSON body: "code" (a number or string), else "error" when a string."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, int | str) and not isinstance(code, bool):
        return str(code)
    error = body.get("error")
    return error if isinstance(error, str) else None


def _body_retry_after(response: httpx.Response) -> float | None:
    """`retry_after` seconds in a JSON body (Discord, Slack's Web API errors, ...)."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("retry_after") if isinstance(body, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def retry_time(response: httpx.Response, default_s: float = 60.0) -> datetime:
    """When to retry a 429: Retry-After, else the rate-limit reset header, else `retry_after` in the JSON
    body, else `default_s` from now."""
    now = datetime.now(UTC)
    retry_after = response.headers.get("retry-after")
    if retry_after:
        try:
            return now + timedelta(seconds=float(retry_after))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return parsedate_to_datetime(retry_after).astimezone(UTC)
            except (TypeError, ValueError):
                pass
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        reset = parse_reset(response.headers.get(name), now)
        if reset is not None:
            return reset
    in_body = _body_retry_after(response)
    return now + timedelta(seconds=in_body if in_body is not None else default_s)


def error_detail(response: httpx.Response) -> str:
    """The most specific human-readable error text in a response body."""
    try:
        body = response.json()
    except ValueError:
        # A body that is not the platform's JSON error is not echoed: the host may be one a member named.
        kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
        return f"HTTP {response.status_code} {response.reason_phrase} ({kind} body not shown)"
    if isinstance(body, dict):
        for key in ("detail", "error_description", "message", "error", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("detail") or errors[0])
    return str(body)[:300]


def numeric_values(body: Mapping[str, Any], keys: Iterable[str]) -> dict[str, float]:
    """The numbers a JSON object holds under `keys`, as floats; a key that is missing or not a number is left out."""
    return {key: float(body[key]) for key in keys if isinstance(body.get(key), int | float)}


__all__ = ["error_code", "error_detail", "numeric_values", "parse_reset", "retry_time"]
