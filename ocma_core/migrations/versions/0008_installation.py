"""the installation's identity: Redis keys are namespaced by it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:20:00

- `installation`: one row (`key` = "id") holding a random id made when the database is created or upgraded.
  Every Redis key of this installation starts with `ocma:<id>:`, so workers of another installation (or a
  benchmark) sharing the Redis database never pop this one's work. A copy of the database carries the same
  id; OCMA refuses to share the namespace with it (engine/namespace.py) until the copy takes a new id
  (`ocma db new-installation-id`).
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import ocma_core.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", ocma_core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.bulk_insert(table, [{"key": "id", "value": uuid.uuid4().hex, "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("installation")
