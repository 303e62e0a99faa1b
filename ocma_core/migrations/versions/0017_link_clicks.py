"""link clicks from POST /webhooks/analytics: each workspace's signing secret, clicks per day and UTM
campaign, and each post's cumulative clicks as snapshots

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00

- `clickhook`: the workspace's Standard Webhooks secret (encrypted, like every `*_enc` column, so key
  rotation re-encrypts it), the previous one during a rotation's overlap, and the last delivery's time.
- `clickday`: clicks per workspace-local day and UTM values (campaign, source, medium, content) and the post
  they were attributed to ("" where none); a delivery adds to its rows with INSERT ... ON CONFLICT.
- `postclicksnapshot`: a post's cumulative link clicks after each delivery that counted some (append-only).
- Expand only: new tables; processes of the previous release keep working.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import ocma_core.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = ocma_core.db.types.UTCDateTime(timezone=True)
STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "clickhook",
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), primary_key=True),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_until", UTC_DT, nullable=True),
        sa.Column("last_delivery_at", UTC_DT, nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("rotated_at", UTC_DT, nullable=False),
    )
    op.create_table(
        "clickday",
        sa.Column("id", STR(), primary_key=True),
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("utm_campaign", STR(length=100), nullable=False),
        sa.Column("utm_source", STR(length=100), nullable=False),
        sa.Column("utm_medium", STR(length=100), nullable=False),
        sa.Column("utm_content", STR(length=100), nullable=False),
        sa.Column("post_id", STR(length=64), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "day",
            "utm_campaign",
            "utm_source",
            "utm_medium",
            "utm_content",
            "post_id",
            name="uq_clickday_key",
        ),
    )
    op.create_index("ix_clickday_post", "clickday", ["post_id"])
    op.create_table(
        "postclicksnapshot",
        sa.Column("id", STR(), primary_key=True),
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("post_id", STR(), sa.ForeignKey("post.id"), nullable=False),
        sa.Column("fetched_at", UTC_DT, nullable=False),
        sa.Column("values", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("source", STR(length=32), nullable=False),
    )
    op.create_index("ix_postclicksnapshot_workspace_id", "postclicksnapshot", ["workspace_id"])
    op.create_index("ix_postclick_post_time", "postclicksnapshot", ["post_id", "fetched_at"])


def downgrade() -> None:
    op.drop_table("postclicksnapshot")
    op.drop_table("clickday")
    op.drop_table("clickhook")
