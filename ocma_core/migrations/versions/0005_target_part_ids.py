"""every platform id of a published target (a thread has one per part), so it can be deleted whole

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00

- `target.part_ids`: the ids `PublishResult.part_ids` gave, first part first. Targets published before this
  revision get `[]`: only their `external_id` (the first part) is known, and deleting such a thread says so.
- The new statuses `deleted` (post and target) need nothing here: status columns are plain text.
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on every database: a SQLite batch rebuild of `target` would fail on the foreign keys
    # that point at it (attempts, snapshots) as soon as it holds rows. The string default keeps it plain.
    op.add_column("target", sa.Column("part_ids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (a batch rebuild fails on the foreign keys, as above).
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        with op.batch_alter_table("target") as batch:
            batch.drop_column("part_ids")
    else:
        op.drop_column("target", "part_ids")
