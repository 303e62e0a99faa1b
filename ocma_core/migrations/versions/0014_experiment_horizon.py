"""experiments compare every variant post at one stated age

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:00:00

- `experiment.horizon_hours` (float, default 24): the age after publishing at which every variant post is
  measured and the experiment decided, once (issue #16: variants were compared at different ages).
- Expand only: a new column with a server default. Processes of the previous release keep working.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "experiment", sa.Column("horizon_hours", sa.Float(), nullable=False, server_default=sa.text("24"))
    )


def downgrade() -> None:
    with op.batch_alter_table("experiment") as batch:
        batch.drop_column("horizon_hours")
