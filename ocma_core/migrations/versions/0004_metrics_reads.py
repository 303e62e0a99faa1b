"""faster analytics reads: snapshot values as JSONB on PostgreSQL, matured values copied to the schedule

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:58:00

- Reading a few numbers out of each of hundreds of thousands of snapshots with `->>` re-parses a json
  value's whole text per number; jsonb is parsed once, on write. (SQLite keeps its JSON text column.)
- `metricschedule.matured_values`: a copy of the matured snapshot's values (snapshots never change), so the
  analyzers' history reads one row per post instead of joining the snapshot table. Filled here for the
  pointers that exist; `ocma_core.analytics.pointers.point_to` keeps it from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT_TABLES = ("postmetricsnapshot", "accountmetricsnapshot")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for table in SNAPSHOT_TABLES:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "values" TYPE jsonb USING "values"::jsonb')
    with op.batch_alter_table("metricschedule") as batch:
        batch.add_column(
            sa.Column(
                "matured_values", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
            )
        )
    op.execute(
        'UPDATE metricschedule SET matured_values = (SELECT s."values" FROM postmetricsnapshot s '
        "WHERE s.id = metricschedule.matured_snapshot_id) WHERE matured_snapshot_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("metricschedule") as batch:
        batch.drop_column("matured_values")
    if op.get_bind().dialect.name == "postgresql":
        for table in SNAPSHOT_TABLES:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "values" TYPE json USING "values"::json')
