"""an index serving the posts listing's order (GET /v1/posts, `ocma posts list`)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:55:00

The listing orders a workspace's posts by (scheduled_at IS NULL, scheduled_at, created_at); without an index
matching that order a deep page sorted the whole table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_post_listing",
        "post",
        ["workspace_id", sa.text("(scheduled_at IS NULL)"), "scheduled_at", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_post_listing", table_name="post")
