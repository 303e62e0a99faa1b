"""For plugins adding CLI commands: the context, workspace option, error reporting and examples.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release. Importing
it is light (a plugin's command module is imported for `ocma --help`): the database layer loads on first call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ocma_core.cli.examples import examples
from ocma_core.cli.output import Column, emit_list, emit_record, json_option, print_json, table

if TYPE_CHECKING:
    from ocma_core.context import Ocma
    from ocma_core.errors import OcmaError

__all__ = [
    "Column",
    "context",
    "emit_list",
    "emit_record",
    "examples",
    "json_option",
    "print_json",
    "report_error",
    "table",
    "workspace_id",
    "workspace_option",
]


def workspace_option(fn: Any) -> Any:
    """--workspace NAME|ID (optional when there is only one)."""
    return click.option(
        "--workspace", "-w", default=None, help="Workspace name or id (default: the only one)."
    )(fn)


def context(create_key: bool = False) -> Ocma:
    """An OCMA context on the configured database (migrations must be current)."""
    from ocma_core.cli.common import context as make_context

    return make_context(create_key)


def workspace_id(ocma: Ocma, ref: str | None) -> str:
    """Resolve a --workspace option (name or id; the only workspace when None)."""
    from ocma_core.cli.common import workspace_id as resolve

    return resolve(ocma, ref)


def report_error(exc: OcmaError) -> None:
    """Print `Error: ...`, the problems, and `Fix: ...` (the CLI's own advice) on stderr."""
    from ocma_core.cli.errors import report_error as report

    report(exc)
