"""Tables of link-click analytics (POST /webhooks/analytics, ocma_core.clicks): each workspace's signing
secret, clicks per day and UTM campaign, and each post's cumulative clicks as snapshots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ocma_core.db.types import UTCDateTime, new_id, utcnow


def _when(nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ClickHook(SQLModel, table=True):
    """A workspace's click receiver: the Standard Webhooks secret senders sign with (and the previous one
    during a rotation's overlap), and when it last took a delivery."""

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True)
    secret_enc: str = Field(sa_type=Text)
    previous_secret_enc: str | None = Field(default=None, sa_type=Text)
    previous_until: datetime | None = _when()
    last_delivery_at: datetime | None = _when()
    created_at: datetime = _when(nullable=False)
    rotated_at: datetime = _when(nullable=False)


# What makes a ClickDay row: a delivery's clicks with the same key add up in one row.
CLICKDAY_KEY = ("workspace_id", "day", "utm_campaign", "utm_source", "utm_medium", "utm_content", "post_id")


class ClickDay(SQLModel, table=True):
    """Clicks of one workspace-local day with one set of UTM values (and the post they were attributed to;
    "" for none, and for each UTM value not given)."""

    __table_args__ = (
        UniqueConstraint(*CLICKDAY_KEY, name="uq_clickday_key"),
        Index("ix_clickday_post", "post_id"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id")
    day: date = Field(sa_type=Date)
    utm_campaign: str = Field(default="", max_length=100)
    utm_source: str = Field(default="", max_length=100)
    utm_medium: str = Field(default="", max_length=100)
    utm_content: str = Field(default="", max_length=100)
    post_id: str = Field(default="", max_length=64)
    clicks: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = _when(nullable=False)


class PostClickSnapshot(SQLModel, table=True):
    """A post's cumulative link clicks after one delivery (`values`: {"link_clicks": n}); append-only."""

    __table_args__ = (Index("ix_postclick_post_time", "post_id", "fetched_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    post_id: str = Field(foreign_key="post.id")
    fetched_at: datetime = _when(nullable=False)
    values: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON().with_variant(JSONB(), "postgresql"), nullable=False)
    )
    source: str = Field(default="webhook", max_length=32)
