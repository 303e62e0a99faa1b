"""Alembic environment: the URL comes from the caller (ocma_core.db.migrate), never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ocma_core.db.models  # noqa: F401  (registers every table on the metadata)
from ocma_core.migrations.env_support import compare_options

config = context.config
connection = config.attributes.get("connection")
target_metadata = SQLModel.metadata


def run() -> None:
    """Run migrations on the connection handed over by ocma_core.db.migrate."""
    if connection is None:
        raise RuntimeError("Run migrations with `ocma db upgrade`, which provides the database connection.")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        **compare_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


run()
