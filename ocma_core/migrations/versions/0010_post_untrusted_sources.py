"""post.untrusted_sources: a post made from text from outside stays marked until a person reviews it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00

- `post.untrusted_sources`: where outside text in the post came from (a fetched page, platform content), set
  when the agent writes a post in a turn that read such text; emptied when a person edits or approves it. The
  agent marks such posts in its system prompt and never acts on them without a person (issue 14).
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "post", sa.Column("untrusted_sources", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        with op.batch_alter_table("post") as batch:
            batch.drop_column("untrusted_sources")
    else:
        op.drop_column("post", "untrusted_sources")
