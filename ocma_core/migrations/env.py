"""Alembic environment: the URL comes from the caller (ocma_core.db.migrate), never from an ini file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

import ocma_core.db.models  # noqa: F401  (registers every table on the metadata)

config = context.config
connection = config.attributes.get("connection")
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our enum columns as plain text (the enum lives in Python, not in the database)."""
    from ocma_core.db.types import StrEnum

    if type_ == "type" and isinstance(obj, StrEnum):
        return "sa.Text()"
    return False


def run() -> None:
    """Run migrations on the connection handed over by ocma_core.db.migrate."""
    if connection is None:
        raise RuntimeError("Run migrations with `ocma db upgrade`, which provides the database connection.")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
