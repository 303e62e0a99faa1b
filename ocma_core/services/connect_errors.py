"""What to tell a person whose account did not connect: the real cause (wrong password, network, DNS,
a server error, a rate limit) and what to do about it — never "wrong credentials" for a network fault."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core.errors import (
    AuthExpired,
    OcmaError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    Transient,
    Unconfirmed,
    unreachable,
)
from ocma_core.platforms import Platform


def connect_failure(
    platform: Platform,
    exc: PlatformError,
    *,
    signing_in: bool,
    refused: Callable[[str, str], OcmaError],
) -> OcmaError:
    """The error for a failed connect; `signing_in` is False once the platform accepted the credentials.

    A network fault, a server error or a rate limit keeps its own type (502 / 429 over the API); a refusal
    is built with `refused(message, fix)` (a validation error, or the OAuth flow's error).
    """
    name = platform.display_name or platform.name
    if isinstance(exc, RateLimited):
        limited = unreachable(exc, name)
        assert limited is not None
        return limited
    if isinstance(exc, Transient | Unconfirmed):
        if exc.status is not None and exc.status >= 500:
            return PlatformUnavailable(
                f"{name}'s server failed while connecting (HTTP {exc.status}): {exc.message}",
                fix="The platform's server is having trouble; try again in a few minutes.",
            )
        return PlatformUnavailable(
            f"Connecting to {name} failed: {exc.message}",
            fix="Check the server address and this machine's network (DNS, proxy, firewall), then try again.",
        )
    if signing_in:
        return refused(
            f"{name} refused the credentials: {exc.message}",
            "Check them (an app password, not the account password) and try again.",
        )
    if isinstance(exc, AuthExpired):
        return refused(
            f"{name} accepted the sign-in but then refused the session: {exc.message}",
            "Try again; if it keeps happening, create a new app password or token.",
        )
    return refused(
        f"{name} accepted the sign-in, but reading the account failed: {exc.message}",
        "Try again later; the message above is the platform's own reason.",
    )
