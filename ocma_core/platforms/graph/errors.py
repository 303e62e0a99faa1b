"""Graph's error envelope and the typed failures it maps onto (see the package's docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core.errors import AuthExpired, RateLimited, Rejected, Transient, Unconfirmed
from ocma_core.platforms.graph.usage import regain_access_at

if TYPE_CHECKING:
    import httpx

#: How long a Graph rate-limit error blocks when no header says more (the usage window is a rolling hour).
DEFAULT_BLOCK_S = 600.0
TEMPORARY_BLOCK_S = 3600.0

AUTH_CODES = frozenset({102, 190})
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467})
RATE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80010)})
#: Instagram: "Application request limit reached" for the content publishing quota (code 9).
PUBLISH_LIMIT_SUBCODES = frozenset({2207042})
TRANSIENT_CODES = frozenset({1, 2})
TEMPORARILY_BLOCKED = 368
INVALID_PARAMETER = 100


@dataclass(frozen=True)
class GraphError:
    """One Graph error envelope."""

    status: int
    code: int | None
    subcode: int | None
    message: str
    type: str = ""
    user_message: str = ""
    is_transient: bool = False
    fbtrace_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Meta's words: the message, with the user-facing one when Meta gave one."""
        said = self.message or f"HTTP {self.status}"
        if self.user_message and self.user_message not in said:
            said = f"{said} ({self.user_message})"
        codes = ", ".join(
            f"{name} {value}" for name, value in (("code", self.code), ("subcode", self.subcode)) if value
        )
        return f"{said} [{codes}]" if codes else said


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def graph_error(response: httpx.Response) -> GraphError:
    """The error envelope of a response (a bare HTTP status when the body is not one)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        reason = response.reason_phrase or "error"
        return GraphError(response.status_code, None, None, f"HTTP {response.status_code} {reason}")
    return GraphError(
        status=response.status_code,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        message=str(error.get("message") or ""),
        type=str(error.get("type") or ""),
        user_message=str(error.get("error_user_msg") or error.get("error_user_title") or ""),
        is_transient=bool(error.get("is_transient")),
        fbtrace_id=str(error.get("fbtrace_id") or ""),
        raw=error,
    )


def raise_for_graph(response: httpx.Response, service: str, *, creates: bool = False) -> None:
    """Raise the typed failure for a Graph error response; return quietly on success.

    `creates` marks a call that creates something (a post, a container, a publish): a server error or a
    transient error there may come after Meta stored it, so it is Unconfirmed, never Transient.
    """
    if response.status_code < 400:
        return
    err = graph_error(response)
    status, code, subcode = err.status, err.code, err.subcode
    label = str(code) if code is not None else None
    if code in AUTH_CODES or (subcode in AUTH_SUBCODES and code in (None, 190)) or status == 401:
        raise AuthExpired(f"{service} refused the access token: {err.text}", status=status, code=label)
    if code in RATE_CODES or (code == 9 and subcode in PUBLISH_LIMIT_SUBCODES) or status == 429:
        retry = regain_access_at(response.headers) or datetime.now(UTC) + timedelta(seconds=DEFAULT_BLOCK_S)
        raise RateLimited(
            f"{service} rate limit reached: {err.text}", retry_at=retry, status=status, code=label
        )
    if code == TEMPORARILY_BLOCKED:
        retry = datetime.now(UTC) + timedelta(seconds=TEMPORARY_BLOCK_S)
        raise RateLimited(
            f"{service} has temporarily blocked this account from this action: {err.text}",
            retry_at=retry,
            status=status,
            code=label,
        )
    if code in TRANSIENT_CODES or err.is_transient or status >= 500:
        if creates:
            raise Unconfirmed(f"{service} failed while creating; it may exist: {err.text}", status=status)
        raise Transient(f"{service} had a temporary problem: {err.text}", status=status, code=label)
    raise Rejected(f"{service} refused the request: {err.text}", status=status, code=label)


def is_invalid_metric(response: httpx.Response) -> bool:
    """True when Meta refused an insights metric it does not (or no longer) serve: code 100, or code 10 for
    media with too few viewers. Such a metric is "not available", never zero."""
    if response.status_code < 400:
        return False
    err = graph_error(response)
    return err.code in (INVALID_PARAMETER, 10) and "metric" in (err.message + err.user_message).lower()
