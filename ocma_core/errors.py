"""Typed errors shared by the core, plugins and every surface (API, CLI, agent)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

Surface = Literal["cli", "api"]


class OcmaError(Exception):
    """Base class for errors shown to a user: the message says what went wrong and how to fix it.

    `fix` is advice any surface can show (the agent and Slack show it); `fixes` gives a surface its own
    where the way to act differs: a command for the CLI ("`ocma accounts list`"), a route for the API
    ("GET /v1/accounts"). Each surface asks with `fix_for`, so the CLI never advises an HTTP call.
    """

    status_code = 400
    title = "Bad request"

    def __init__(
        self, message: str, *, fix: str | None = None, fixes: Mapping[Surface, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.fixes: dict[Surface, str] = dict(fixes or {})

    def fix_for(self, surface: Surface) -> str | None:
        """The advice to show on `surface`: its own if given, else the general one."""
        return self.fixes.get(surface, self.fix)

    def __str__(self) -> str:
        return f"{self.message} {self.fix}" if self.fix else self.message


class NotFoundError(OcmaError):
    """A resource does not exist (or belongs to another workspace)."""

    status_code = 404
    title = "Not found"


class ConflictError(OcmaError):
    """The request conflicts with the current state (e.g. cancelling a published post)."""

    status_code = 409
    title = "Conflict"


class PreconditionFailed(ConflictError):
    """The change was made against a version that has changed since (a stale If-Match): nothing was written."""

    status_code = 412
    title = "Precondition failed"


class ValidationFailed(OcmaError):
    """Input failed validation; `problems` lists each problem found."""

    status_code = 422
    title = "Validation failed"

    def __init__(
        self,
        message: str,
        problems: Sequence[Mapping[str, object]] | None = None,
        *,
        fix: str | None = None,
        fixes: Mapping[Surface, str] | None = None,
    ) -> None:
        super().__init__(message, fix=fix, fixes=fixes)
        self.problems = [dict(p) for p in problems or []]


class PermissionDenied(OcmaError):
    """The caller's role does not allow the action."""

    status_code = 403
    title = "Forbidden"


class ConfigError(OcmaError):
    """Configuration is missing or invalid."""

    status_code = 500
    title = "Configuration error"


class SecretUnreadable(ConfigError):
    """A stored secret cannot be decrypted with the encryption keys in force."""


class NotSent(OcmaError):
    """A publish stopped on this side before any platform call (unreadable tokens, missing plugin, bad
    configuration): nothing reached the platform, so the outcome is known and never "unconfirmed".
    `retryable`: a passing local failure (the database did not answer); `unreadable`: the stored tokens
    cannot be decrypted with the keys in force."""

    status_code = 500
    title = "Not sent"

    def __init__(
        self, message: str, *, fix: str | None = None, retryable: bool = False, unreadable: bool = False
    ) -> None:
        super().__init__(message, fix=fix)
        self.retryable = retryable
        self.unreadable = unreadable


class StorageUnavailable(OcmaError):
    """A storage service OCMA depends on (the media store) failed or cannot be reached; try again later."""

    status_code = 503
    title = "Storage unavailable"


class PlatformUnavailable(OcmaError):
    """A platform could not be reached, timed out or failed on its side; the message names the network error."""

    status_code = 502
    title = "Platform unreachable"


class PlatformRateLimited(OcmaError):
    """A platform refused a call made for this request for rate reasons; `retry_at` says when to try again."""

    status_code = 429
    title = "Platform rate limit"

    def __init__(self, message: str, *, retry_at: datetime, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.retry_at = retry_at


class UnknownPlatformError(NotFoundError):
    """No installed plugin provides the named platform."""


# --- Failures a platform call can end in; the engine acts on the type, never on the platform. ---


class PlatformError(Exception):
    """Base class of the typed failures a Platform method raises."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        # Ids of the thread parts that were out when this failure happened (set by `Platform.post_thread`):
        # the engine then looks up what exists before it tries again, so no part is posted twice.
        self.parts_out: list[str] = []


class RateLimited(PlatformError):
    """The platform refused the call for rate reasons; retry at `retry_at` (UTC)."""

    retryable = True

    def __init__(self, message: str, *, retry_at: datetime, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_at = retry_at


class AuthExpired(PlatformError):
    """The access token is expired or revoked: refresh it, else the account must be reconnected."""


class Rejected(PlatformError):
    """The platform permanently refused the content (too long, duplicate, policy); do not retry as is."""


class Transient(PlatformError):
    """A temporary failure known not to have taken effect (5xx before processing, connection refused)."""

    retryable = True


class Unconfirmed(PlatformError):
    """The call may or may not have taken effect (timeout after sending); ask the platform before retrying."""


def unreachable(exc: PlatformError, platform: str) -> OcmaError | None:
    """The error a person sees when a platform call failed for network, server or rate reasons (None when the
    platform answered and refused: that is the caller's to word, e.g. "refused the credentials")."""
    if isinstance(exc, RateLimited):
        return PlatformRateLimited(
            f"{platform} is rate limiting OCMA: {exc.message}",
            retry_at=exc.retry_at,
            fix=f"Try again after {exc.retry_at.isoformat(timespec='seconds')}.",
        )
    if isinstance(exc, Transient | Unconfirmed):
        said = (
            exc.message
            if exc.message.startswith("Could not")
            else f"Could not complete the call: {exc.message}"
        )
        return PlatformUnavailable(
            said if platform in said else f"{platform}: {said}",
            fix="Check the server address and this machine's network (DNS, proxy, firewall), then try again.",
        )
    return None
