"""Tables of the analytics feature: collection schedule, A/B experiments, competitor accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ocma_core.db.types import UTCDateTime, new_id, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class MetricSchedule(SQLModel, table=True):
    """When the metrics of one published target, account or competitor are next due, and what went wrong."""

    __table_args__ = (UniqueConstraint("kind", "ref_id"), Index("ix_metricschedule_due", "next_due_at"))
    id: str = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=16)  # post, account, competitor
    ref_id: str = Field(max_length=64)  # target id, account id or competitor id
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    account_id: str = Field(foreign_key="account.id", index=True)  # the account whose token is used
    platform: str = Field(max_length=64)
    step: int = 0  # index into the post cadence of the next collection
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: nothing more to collect
    last_collected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    note: str = Field(default="", sa_type=Text)  # the platform's note of the last snapshot
    # For posts: the snapshots analyzers read, kept up to date by services.metrics.store_post_snapshot so
    # loading N posts never scans every snapshot (see ocma_core.analytics.data).
    latest_snapshot_id: str | None = Field(default=None, max_length=64)
    latest_fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    matured_snapshot_id: str | None = Field(default=None, max_length=64)
    matured_fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A copy of the matured snapshot's values (snapshots never change): the analyzers' history then reads
    # one row per post instead of joining every snapshot (see ocma_core.analytics.data).
    matured_values: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON().with_variant(JSONB(), "postgresql"), nullable=True)
    )


class Experiment(SQLModel, table=True):
    """An A/B test: variants published to comparable slots or accounts, and the decision taken."""

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=200)
    hypothesis: str = Field(default="", sa_type=Text)
    alpha: float = 0.05
    min_lift: float = 0.2  # smallest relative difference worth detecting (for the sample size still needed)
    horizon_hours: float = 24.0  # every variant post is compared at this age after publishing, once
    status: str = Field(default="running", max_length=32)  # running, decided, stopped
    winner_variant_id: str | None = Field(default=None, max_length=64)
    result: dict[str, Any] = _json()
    created_by: str = Field(default="", max_length=255)
    created_at: datetime = _created()
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ExperimentVariant(SQLModel, table=True):
    """One variant of an experiment and the post that carries it."""

    id: str = Field(default_factory=new_id, primary_key=True)
    experiment_id: str = Field(foreign_key="experiment.id", index=True)
    label: str = Field(max_length=64)
    body: str = Field(default="", sa_type=Text)
    source: str = Field(default="hand", max_length=32)  # hand, optimizer
    post_id: str | None = Field(default=None, foreign_key="post.id", index=True)
    created_at: datetime = _created()


class Competitor(SQLModel, table=True):
    """A public account of someone else whose public metrics are read through one of our accounts."""

    __table_args__ = (UniqueConstraint("workspace_id", "platform", "handle"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    platform: str = Field(max_length=64)
    handle: str = Field(max_length=255)
    via_account_id: str = Field(foreign_key="account.id", index=True)
    external_id: str = Field(default="", max_length=255)
    display_name: str = Field(default="", max_length=255)
    created_at: datetime = _created()


class CompetitorMetricSnapshot(SQLModel, table=True):
    """Public metrics of a competitor account at one time, as the platform named them."""

    __table_args__ = (Index("ix_competitormetric_time", "competitor_id", "fetched_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    competitor_id: str = Field(foreign_key="competitor.id")
    fetched_at: datetime = _created()
    values: dict[str, Any] = _json()
    unavailable: list[str] = _json(list)
    source: str = Field(default="poll", max_length=32)
