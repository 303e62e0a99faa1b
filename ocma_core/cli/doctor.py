"""`ocma doctor`: check configuration, database, Redis, keys, plugins, public URL, accounts and clocks."""

from __future__ import annotations

import click

from ocma_core.cli.common import examples, print_json

_MARKS = {"ok": "ok     ", "warning": "WARNING", "error": "ERROR  "}


@examples("ocma doctor", "ocma doctor --strict  # warnings fail too", "ocma doctor --json")
@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
def doctor(as_json: bool, strict: bool) -> None:
    """Check the setup and say what to fix; exits 1 when something needs fixing.

    Example: `ocma doctor` after `ocma init`, after changing settings, or when posts do not go out.
    """
    from ocma_core.services.doctor import run_doctor

    findings = run_doctor()
    if as_json:
        print_json([f.as_dict() for f in findings])
    else:
        for finding in findings:
            click.echo(f"{_MARKS[finding.level]} {finding.check}: {finding.message}")
            if finding.fix and finding.level != "ok":
                click.echo(f"        fix: {finding.fix}")
    failing = {"error", "warning"} if strict else {"error"}
    if any(f.level in failing for f in findings):
        raise SystemExit(1)
