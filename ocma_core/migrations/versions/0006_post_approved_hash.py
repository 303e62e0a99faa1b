"""post.approved_hash: an approval binds to the exact content reviewed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00

- `post.approved_hash`: SHA-256 of what an approver saw (text, media, variants, thread, options, targets),
  set by approve_post. A post that was approved, or that needs approval, is queued only while its content still
  hashes to it (services/approval.py). Posts approved before this revision have none: re-queueing such a post in
  a workspace that requires approval asks for approval again.
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("post", sa.Column("approved_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        with op.batch_alter_table("post") as batch:
            batch.drop_column("approved_hash")
    else:
        op.drop_column("post", "approved_hash")
