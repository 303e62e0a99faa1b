"""Helpers shared by CLI commands (output and examples live in output.py and examples.py, re-exported here)."""

from __future__ import annotations

from ocma_core.cli.examples import examples
from ocma_core.cli.output import (
    Column,
    emit_list,
    emit_record,
    json_option,
    print_json,
    table,
)
from ocma_core.context import Ocma

__all__ = [
    "Column",
    "context",
    "emit_list",
    "emit_record",
    "examples",
    "json_option",
    "print_json",
    "table",
    "workspace_id",
    "workspace_option",
]


def context(create_key: bool = False) -> Ocma:
    """An OCMA context on the configured database (migrations must be current)."""
    ocma = Ocma(create_key=create_key)
    ocma.migrate(auto_upgrade_empty=False)
    return ocma


from ocma_core.app.cli import workspace_option  # noqa: E402  (one definition, shared with plugins)


def workspace_id(ocma: Ocma, ref: str | None) -> str:
    """Resolve --workspace."""
    from ocma_core.services.workspaces import resolve_workspace

    return resolve_workspace(ocma, ref).id
