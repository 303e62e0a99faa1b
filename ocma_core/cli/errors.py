"""How the CLI shows an error: what went wrong, each problem found, and what to type to fix it."""

from __future__ import annotations

from collections.abc import Mapping

import click

from ocma_core.errors import (
    AuthExpired,
    OcmaError,
    PlatformError,
    RateLimited,
    Rejected,
    Transient,
    Unconfirmed,
    ValidationFailed,
)

# Where a problem was found, most specific first, as a person reads it.
_WHERE = ("row", "platform", "account", "field")


def problem_line(problem: Mapping[str, object]) -> str:
    """One problem of a ValidationFailed as a line: `row 3, x, body: too long (312 > 280)`."""
    where = ", ".join(
        f"row {problem[k]}" if k == "row" else str(problem[k])
        for k in _WHERE
        if problem.get(k) not in (None, "")
    )
    message = str(problem.get("message", ""))
    fix = problem.get("fix")
    text = f"{where}: {message}" if where else message
    return f"{text} {fix}" if fix else text


def report_error(exc: OcmaError) -> None:
    """Print `Error: ...`, the problems, and `Fix: ...` (the CLI's own advice) on stderr."""
    click.echo(f"Error: {exc.message}", err=True)
    if isinstance(exc, ValidationFailed):
        for problem in exc.problems:
            click.echo(f"  - {problem_line(problem)}", err=True)
    fix = exc.fix_for("cli")
    if fix:
        click.echo(f"Fix: {fix}", err=True)


def platform_fix(exc: PlatformError) -> str:
    """What a person does after a platform call made from the CLI failed, by the failure's type."""
    if isinstance(exc, AuthExpired):
        return "Reconnect the account: `ocma accounts connect PLATFORM` (see `ocma accounts list`)."
    if isinstance(exc, RateLimited):
        return f"The platform's rate limit: try again after {exc.retry_at:%Y-%m-%d %H:%M} UTC."
    if isinstance(exc, Transient):
        return "Nothing was changed: try again in a moment."
    if isinstance(exc, Unconfirmed):
        return "It may or may not have taken effect: check on the platform before trying again."
    if isinstance(exc, Rejected):
        return "The platform refused it as it is: change what it names, then try again."
    return "Try again; if it keeps failing, `ocma accounts test ACCOUNT_ID` shows whether the account works."


def report_platform_error(exc: PlatformError) -> None:
    """Print a platform's failure (a typed PlatformError) as `Error:` and `Fix:` on stderr."""
    status = f" (the platform answered HTTP {exc.status})" if exc.status else ""
    click.echo(f"Error: {exc.message}{status}", err=True)
    click.echo(f"Fix: {platform_fix(exc)}", err=True)
