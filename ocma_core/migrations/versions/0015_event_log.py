"""the event log: per-workspace sequence ids, consumer cursors, outbound webhooks

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:30:00

- `notification.seq` (BIGINT, unique per workspace): the event's place in its workspace's log. Existing rows
  are numbered in the order they were stored (created_at, id).
- `eventcounter`: the last seq per workspace; storing an event increments it under a row lock, so sequence
  ids follow commit order even with many writers.
- `eventcursor`: how far each consumer (plugins, webhooks) got, with a lease so one process delivers at a
  time. The plugins' cursor starts at the end of the existing log: history is not replayed to plugins.
- `webhook`, `webhookdelivery`: outbound webhook endpoints and what is owed to them.
- Expand only: new tables and a nullable column; processes of the previous release keep working.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ocma_core.db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = ocma_core.db.types.UTCDateTime(timezone=True)
STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("notification", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.create_table(
        "eventcounter",
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "eventcursor",
        sa.Column("consumer", STR(length=64), primary_key=True),
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("leased_by", STR(length=128), nullable=True),
        sa.Column("lease_until", UTC_DT, nullable=True),
    )
    _create_webhook_tables()
    _number_existing_events()
    op.create_index("ux_notification_workspace_seq", "notification", ["workspace_id", "seq"], unique=True)


def _create_webhook_tables() -> None:
    op.create_table(
        "webhook",
        sa.Column("id", STR(length=32), primary_key=True),
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", STR(length=255), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_until", UTC_DT, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", STR(length=255), nullable=True),
        sa.Column("failing_since", UTC_DT, nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
    )
    op.create_index("ix_webhook_workspace_id", "webhook", ["workspace_id"])
    op.create_table(
        "webhookdelivery",
        sa.Column("id", STR(length=32), primary_key=True),
        sa.Column("webhook_id", STR(length=32), sa.ForeignKey("webhook.id"), nullable=False),
        sa.Column("workspace_id", STR(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("kind", STR(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DT, nullable=True),
        sa.Column("claimed_until", UTC_DT, nullable=True),
        sa.Column("last_attempt_at", UTC_DT, nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_ms", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("delivered_at", UTC_DT, nullable=True),
        sa.UniqueConstraint("webhook_id", "event_seq"),
    )
    op.create_index("ix_webhookdelivery_webhook_id", "webhookdelivery", ["webhook_id"])
    op.create_index("ix_webhookdelivery_due", "webhookdelivery", ["status", "next_attempt_at"])


def _number_existing_events() -> None:
    """Give stored events their sequence ids in the order they were stored; counters and cursors follow."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, workspace_id FROM notification ORDER BY workspace_id, created_at, id")
    ).all()
    last: dict[str, int] = {}
    for row_id, workspace_id in rows:
        last[workspace_id] = last.get(workspace_id, 0) + 1
        conn.execute(
            sa.text("UPDATE notification SET seq = :seq WHERE id = :id"),
            {"seq": last[workspace_id], "id": row_id},
        )
    for workspace_id, seq in last.items():
        conn.execute(
            sa.text("INSERT INTO eventcounter (workspace_id, last_seq) VALUES (:w, :s)"),
            {"w": workspace_id, "s": seq},
        )
        conn.execute(
            sa.text("INSERT INTO eventcursor (consumer, workspace_id, last_seq) VALUES ('plugins', :w, :s)"),
            {"w": workspace_id, "s": seq},
        )


def downgrade() -> None:
    op.drop_table("webhookdelivery")
    op.drop_table("webhook")
    op.drop_table("eventcursor")
    op.drop_table("eventcounter")
    op.drop_index("ux_notification_workspace_seq", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("seq")
