"""a partial index of unread notifications, for the notification feed's unread count and unread pages

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:15:00

`GET /v1/notifications` answers `X-Unread-Count` on every page and `?unread=true` lists unread ones by seq.
The event log grows with every event (metrics.updated most of all) while few stay unread once people mark
them, so an index of only the unread rows, in the feed's order, keeps both a short index read.
Expand only: a new index; processes of the previous release keep working.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREAD = sa.text("read_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_notification_unread",
        "notification",
        ["workspace_id", "seq"],
        postgresql_where=UNREAD,
        sqlite_where=UNREAD,
    )


def downgrade() -> None:
    op.drop_index("ix_notification_unread", table_name="notification")
