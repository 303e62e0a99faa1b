"""OAuth states remember the browser that opened them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:00:00

- `oauthstate.browser_hash` (nullable): the SHA-256 of the nonce in the cookie of the browser that opened
  OCMA's start link; the public callback accepts the state only from that browser.
- Expand only: a new nullable column. Links issued before it are refused at the callback (start again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("oauthstate", sa.Column("browser_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauthstate") as batch:
        batch.drop_column("browser_hash")
