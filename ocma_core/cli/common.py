"""Helpers shared by CLI commands."""

from __future__ import annotations

import json
from typing import Any

import click

from ocma_core.context import Ocma


def context(create_key: bool = False) -> Ocma:
    """An OCMA context on the configured database (migrations must be current)."""
    ocma = Ocma(create_key=create_key)
    ocma.migrate(auto_upgrade_empty=False)
    return ocma


def workspace_option(fn: Any) -> Any:
    """--workspace NAME|ID (optional when there is only one)."""
    return click.option(
        "--workspace", "-w", default=None, help="Workspace name or id (default: the only one)."
    )(fn)


def workspace_id(ocma: Ocma, ref: str | None) -> str:
    """Resolve --workspace."""
    from ocma_core.services.workspaces import resolve_workspace

    return resolve_workspace(ocma, ref).id


def print_json(data: Any) -> None:
    """Pretty JSON on stdout."""
    click.echo(json.dumps(data, indent=2, default=str))


def table(headers: list[str], rows: list[list[Any]]) -> None:
    """A rich table on a terminal, plain columns otherwise."""
    from rich.console import Console
    from rich.table import Table

    t = Table(*headers)
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    Console().print(t)
