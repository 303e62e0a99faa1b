"""Tables of the event backbone: per-workspace sequence counters, consumer cursors, outbound webhooks and
their deliveries. The events themselves are `Notification` rows (models.py) with a `seq`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ocma_core.db.types import UTCDateTime, new_id, utcnow


def _when(nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class EventCounter(SQLModel, table=True):
    """The last sequence id given to an event of one workspace (row-locked while an event is stored)."""

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger, nullable=False)


class EventCursor(SQLModel, table=True):
    """How far one consumer (plugins, webhooks) got in one workspace's log, and who holds it now."""

    consumer: str = Field(primary_key=True, max_length=64)
    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger, nullable=False)
    leased_by: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = _when()


class Webhook(SQLModel, table=True):
    """An outbound webhook endpoint of a workspace: where to POST which kinds, signed with its secret."""

    id: str = Field(default_factory=lambda: "wh_" + new_id()[:24], primary_key=True, max_length=32)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    url: str = Field(sa_type=Text)
    description: str = Field(default="", max_length=255)
    kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_enc: str = Field(sa_type=Text)
    previous_secret_enc: str | None = Field(default=None, sa_type=Text)
    previous_until: datetime | None = _when()
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, max_length=255)
    failing_since: datetime | None = _when()
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class WebhookDelivery(SQLModel, table=True):
    """One event (or ping) owed to one webhook: its attempts so far and the last answer."""

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_seq"),
        Index("ix_webhookdelivery_due", "status", "next_attempt_at"),
    )
    id: str = Field(default_factory=lambda: "msg_" + new_id()[:24], primary_key=True, max_length=32)
    webhook_id: str = Field(foreign_key="webhook.id", index=True)
    workspace_id: str = Field(foreign_key="workspace.id")
    event_seq: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(max_length=64)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending, delivered, failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _when()
    claimed_until: datetime | None = _when()
    last_attempt_at: datetime | None = _when()
    response_status: int | None = Field(default=None)
    response_ms: int | None = Field(default=None)
    response_body: str = Field(default="", sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _when(nullable=False)
    delivered_at: datetime | None = _when()
