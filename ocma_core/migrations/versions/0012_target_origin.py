"""targets remember the request (and trace) that created them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00

- `target.origin` (JSON, nullable): {"request_id": ..., "traceparent": ...}, so the worker that publishes a
  target logs under the id of the API request that created it and continues its trace.
- Expand only: a new nullable column. Processes of the previous release keep working while it is applied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("target", sa.Column("origin", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("target") as batch:
        batch.drop_column("origin")
