"""X's error bodies and rate-limit headers, mapped onto OCMA's typed failures.

Error bodies come as problem+json (`{type, title, detail, status}`; `type` is `about:blank` or
`https://api.x.com/2/problems/<name>`, older hosts `api.twitter.com`), as the v1-style
`{"errors":[{"code","message"}]}`, or as a 200 carrying `errors` next to `data` (partial errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import (
    AuthExpired,
    PlatformError,
    RateLimited,
    RateLimitInfo,
    Rejected,
    Transient,
    Unconfirmed,
    error_detail,
    parse_reset,
    retry_time,
)

if TYPE_CHECKING:
    import httpx

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."

# (header prefix, scope) of the windows X reports; the 24-hour ones come with POST /2/tweets.
_WINDOWS = (
    ("x-rate-limit-", "account"),
    ("x-user-limit-24hour-", "account"),
    ("x-app-limit-24hour-", "app"),
)


@dataclass(frozen=True)
class XProblem:
    """The interesting parts of an X error body."""

    status: int
    kind: str  # last path segment of `type` ("usage-capped", "invalid-request", ...) or "about:blank"
    title: str
    detail: str
    body: dict[str, Any]


def problem_kind(type_url: str) -> str:
    """`https://api.x.com/2/problems/usage-capped` -> `usage-capped`; other values unchanged."""
    marker = "/2/problems/"
    return type_url.split(marker, 1)[1] if marker in type_url else type_url


def read_problem(response: httpx.Response) -> XProblem:
    """Parse an error response body (problem+json, v1 `errors`, or plain text)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return XProblem(response.status_code, "", response.reason_phrase, error_detail(response), {})
    if "type" not in body and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
        kind = problem_kind(str(first.get("type", "")))
        detail = str(first.get("detail") or first.get("message") or error_detail(response))
        return XProblem(response.status_code, kind, str(first.get("title", "")), detail, body)
    return XProblem(
        status=response.status_code,
        kind=problem_kind(str(body.get("type", ""))),
        title=str(body.get("title", "")),
        detail=str(body.get("detail") or error_detail(response)),
        body=body,
    )


def read_rate_limits(response: httpx.Response, bucket: str) -> list[RateLimitInfo]:
    """Every rate-limit window the response reports (15-minute, user 24-hour, app 24-hour)."""
    found: list[RateLimitInfo] = []
    headers = response.headers
    for prefix, scope in _WINDOWS:
        if f"{prefix}remaining" not in headers and f"{prefix}limit" not in headers:
            continue
        window = bucket if prefix == "x-rate-limit-" else f"{bucket} (24h)"
        found.append(
            RateLimitInfo(
                scope=scope,
                bucket=window,
                limit=_int(headers.get(f"{prefix}limit")),
                remaining=_int(headers.get(f"{prefix}remaining")),
                reset_at=parse_reset(headers.get(f"{prefix}reset")),
            )
        )
    return found


def rate_limit_retry_at(response: httpx.Response) -> datetime:
    """When a 429 lifts: the latest reset among the exhausted windows, else Retry-After / reset headers."""
    exhausted = [
        info.reset_at
        for info in read_rate_limits(response, "")
        if info.reset_at is not None and info.remaining is not None and info.remaining <= 0
    ]
    return max(exhausted) if exhausted else retry_time(response)


def failure_for(response: httpx.Response, *, creates: bool = False) -> PlatformError:
    """The typed failure for a non-2xx response; `creates` marks a call that may have stored something."""
    problem = read_problem(response)
    status = problem.status
    text = f"X refused the request ({status} {problem.title or response.reason_phrase}): {problem.detail}"
    if problem.kind == "usage-capped":
        return _usage_capped(response, problem, text)
    if status == 429 or problem.kind == "rate-limit-exceeded":
        return RateLimited(
            text, retry_at=rate_limit_retry_at(response), status=status, code=problem.kind or None
        )
    if status == 401:
        return AuthExpired(text, status=status, code=problem.kind or None)
    if status >= 500:
        if creates:
            # X documents 503 as "overloaded"; a 5xx answer to a create gives no guarantee that nothing was
            # stored (a timeout behind X's front end also surfaces as 5xx), so it is resolved by lookup.
            return Unconfirmed(f"{text} (the post may or may not exist; looking it up)", status=status)
        return Transient(text, status=status, code=problem.kind or None)
    code = "duplicate" if DUPLICATE_DETAIL.lower() in problem.detail.lower() else (problem.kind or None)
    return Rejected(text, status=status, code=code)


def _usage_capped(response: httpx.Response, problem: XProblem, text: str) -> PlatformError:
    """A usage cap: retry after a known daily reset; a monthly/product cap needs the operator (Rejected)."""
    period = str(problem.body.get("period", "")).lower()
    if period == "monthly" or str(problem.body.get("scope", "")).lower() == "product":
        return Rejected(
            f"{text} The X app's monthly usage cap is reached; raise the plan or wait for the next billing "
            "period, then publish again.",
            status=problem.status,
            code="usage-capped",
        )
    retry_at = rate_limit_retry_at(response)
    if retry_at <= datetime.now(UTC) + timedelta(seconds=61):
        retry_at = datetime.now(UTC) + timedelta(hours=24) if period == "daily" else retry_at
    return RateLimited(text, retry_at=retry_at, status=problem.status, code="usage-capped")


def raise_for_x_status(response: httpx.Response, *, creates: bool = False) -> None:
    """Raise the typed failure for a non-2xx response; return for 2xx."""
    if response.status_code >= 400:
        raise failure_for(response, creates=creates)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
