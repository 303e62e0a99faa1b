"""a member may have no email (a Slack user let in from Slack is known by their Slack id only)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00

- `member.email` becomes nullable. The unique (workspace_id, email) constraint stays: NULLs never collide,
  so many members without an email can share a workspace. Existing rows keep their emails.
- `member` is referenced by no foreign key, so the SQLite batch rebuild is safe with rows in it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.alter_column(
            "email", existing_type=sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True
        )


def downgrade() -> None:
    # A member without an email cannot go back: give them an address that says where it came from.
    op.execute(sa.text("UPDATE member SET email = 'no-email-' || id WHERE email IS NULL"))
    with op.batch_alter_table("member") as batch:
        batch.alter_column(
            "email", existing_type=sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False
        )
