"""an account's identity includes its host: two Mastodon accounts with the same id on two instances are two

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00

- `account.host`: the platform-specific host the account lives on (a Mastodon instance's domain), "" for a
  platform that is one service. Mastodon rows get the domain of the instance stored in their settings.
- The account's unique key becomes (workspace_id, platform, host, external_id), named `uq_account_identity`.
  On SQLite that rebuilds the table, which needs foreign keys off: `ocma_core.db.migrate` turns them off
  around every upgrade and downgrade and checks them before it commits.
- Accounts merged before this revision (instances whose account ids coincided) stay one row: their tokens
  were overwritten then; reconnect the other instance's account to get it back.
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ["workspace_id", "platform", "external_id"]
NEW = ["workspace_id", "platform", "host", "external_id"]
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}  # names SQLite's unnamed constraint so it can go


def _old_name() -> str | None:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("account"):
        if constraint["column_names"] == OLD:
            return constraint["name"] or "uq_account_workspace_id_platform_external_id"
    return None


def upgrade() -> None:
    old = _old_name()
    with op.batch_alter_table("account", naming_convention=NAMING, recreate="auto") as batch:
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=False, server_default=""))
        if old:
            batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("uq_account_identity", NEW)
    bind = op.get_bind()
    account = sa.table("account", sa.column("id"), sa.column("platform"), sa.column("settings", sa.JSON))
    rows = bind.execute(sa.select(account.c.id, account.c.settings).where(account.c.platform == "mastodon"))
    for account_id, settings in rows.fetchall():
        host = (urlsplit(str((settings or {}).get("instance") or "")).netloc or "").lower()
        if host:
            bind.execute(sa.text("UPDATE account SET host = :host WHERE id = :id"), {"host": host, "id": account_id})


def downgrade() -> None:
    with op.batch_alter_table("account", naming_convention=NAMING, recreate="auto") as batch:
        batch.drop_constraint("uq_account_identity", type_="unique")
        batch.create_unique_constraint("uq_account_workspace_id_platform_external_id", OLD)
        batch.drop_column("host")
