"""the posts listing's index ends with id, so a keyset cursor reads a deep page from the index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:40:00

`GET /v1/posts?after=CURSOR` continues after (scheduled_at, created_at, id); with `id` in the index the page
is one index range, with no sort of the rows after the cursor. Replaces ix_post_listing (0011), whose order
is this one's prefix: a process of the previous release still finds its order served.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ["workspace_id", sa.text("(scheduled_at IS NULL)"), "scheduled_at", "created_at"]


def upgrade() -> None:
    op.create_index("ix_post_listing_keyset", "post", [*OLD, "id"])
    op.drop_index("ix_post_listing", table_name="post")


def downgrade() -> None:
    op.create_index("ix_post_listing", "post", OLD)
    op.drop_index("ix_post_listing_keyset", table_name="post")
