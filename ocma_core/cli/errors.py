"""How the CLI shows an error: what went wrong, each problem found, and what to type to fix it."""

from __future__ import annotations

from collections.abc import Mapping

import click

from ocma_core.errors import OcmaError, ValidationFailed

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
