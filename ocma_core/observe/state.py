"""Installation-wide state read from the database (and queue) when /metrics is scraped.

Every API process reports the same figures: aggregate them with max() across instances, not sum().
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Target, TargetStatus, WorkerHeartbeat, Workspace
from ocma_core.db.types import utcnow

log = logging.getLogger(__name__)
OVERDUE_GRACE = timedelta(seconds=60)  # a target due longer ago than this and not yet claimed is overdue
ACTIVE = [
    TargetStatus.QUEUED, TargetStatus.PUBLISHING, TargetStatus.UNCONFIRMED, TargetStatus.PENDING, TargetStatus.HELD,
]  # fmt: skip


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns aggregates without the column type (naive UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class StateCollector(Collector):
    """Gauges of targets, queue, workers, accounts and AI spend, computed at scrape time."""

    def __init__(self, ocma: Ocma) -> None:
        self.ocma = ocma

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield every gauge; a part that fails is logged and left out (the scrape still succeeds)."""
        for part in (self._targets, self._queue, self._workers, self._accounts, self._ai_spend):
            try:
                yield from part()
            except Exception:
                log.exception("metrics: %s failed", part.__name__)

    def _targets(self) -> Iterable[GaugeMetricFamily]:
        now = utcnow()
        by_status = GaugeMetricFamily(
            "ocma_targets", "Targets not yet finished, by platform and status", labels=["platform", "status"]
        )
        with self.ocma.session() as session:
            rows = session.exec(
                select(Target.platform, Target.status, func.count())
                .where(col(Target.status).in_(ACTIVE))
                .group_by(Target.platform, Target.status)
            ).all()
            oldest = session.exec(
                select(func.min(Target.due_at)).where(
                    col(Target.status) == TargetStatus.QUEUED, col(Target.due_at) <= now
                )
            ).one()
            overdue = session.exec(
                select(func.count()).where(
                    col(Target.status) == TargetStatus.QUEUED, col(Target.due_at) < now - OVERDUE_GRACE
                )
            ).one()
        for platform, status, count in rows:
            by_status.add_metric([platform, str(getattr(status, "value", status))], count)
        yield by_status
        oldest = _aware(oldest)
        yield GaugeMetricFamily(
            "ocma_oldest_due_target_age_seconds",
            "Seconds the oldest queued target has been due (0 when nothing is due)",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "ocma_targets_overdue",
            f"Queued targets due more than {OVERDUE_GRACE.total_seconds():.0f} s ago and not yet claimed",
            value=overdue,
        )

    def _queue(self) -> Iterable[GaugeMetricFamily]:
        queue = self.ocma.queue
        yield _family_with(
            "ocma_queue_entries",
            "Entries in the work queue (due or not)",
            ["kind"],
            [([queue.kind], queue.depth())],
        )

    def _workers(self) -> Iterable[GaugeMetricFamily]:
        now = utcnow()
        stale = timedelta(seconds=self.ocma.settings.worker_stale_s)
        with self.ocma.session() as session:
            beats = session.exec(select(WorkerHeartbeat.kind, WorkerHeartbeat.last_seen)).all()
        live: dict[str, int] = {"worker": 0, "embedded": 0}
        newest: datetime | None = None
        for kind, last_seen in beats:
            seen = _aware(last_seen)
            if seen is None:
                continue
            if now - seen <= stale:
                live[kind] = live.get(kind, 0) + 1
            newest = seen if newest is None or seen > newest else newest
        yield _family_with(
            "ocma_workers_live",
            f"Worker loops whose heartbeat is at most OCMA_WORKER_STALE_S ({stale.total_seconds():.0f} s) old",
            ["kind"],
            [([k], n) for k, n in sorted(live.items())],
        )
        age = (now - newest).total_seconds() if newest else float("inf")
        yield GaugeMetricFamily(
            "ocma_worker_newest_heartbeat_age_seconds",
            "Seconds since any worker last recorded a heartbeat (+Inf when none ever did)",
            value=age,
        )

    def _accounts(self) -> Iterable[GaugeMetricFamily]:
        with self.ocma.session() as session:
            rows = session.exec(
                select(Account.platform, Account.status, func.count()).group_by(
                    Account.platform, Account.status
                )
            ).all()
        yield _family_with(
            "ocma_accounts",
            "Connected accounts by platform and status (needs_reconnect: publishing is held)",
            ["platform", "status"],
            [([p, str(getattr(s, "value", s))], n) for p, s, n in rows],
        )

    def _ai_spend(self) -> Iterable[GaugeMetricFamily]:
        from ocma_core.ai.settings import load_config
        from ocma_core.ai.usage import periods, spent_since

        spend: list[tuple[list[str], float]] = []
        budget: list[tuple[list[str], float]] = []
        with self.ocma.session() as session:
            workspaces = session.exec(select(Workspace.id)).all()
        for workspace_id in workspaces:
            config = load_config(self.ocma, workspace_id)
            span = periods(config.timezone)
            with self.ocma.session() as session:
                today = spent_since(session, workspace_id, span.day_start)
                month = spent_since(session, workspace_id, span.month_start)
            spend += [([workspace_id, "day"], today), ([workspace_id, "month"], month)]
            for period, value in (("day", config.daily_budget_usd), ("month", config.monthly_budget_usd)):
                if value is not None:
                    budget.append(([workspace_id, period], value))
        labels = ["workspace", "period"]
        yield _family_with(
            "ocma_ai_spend_usd", "AI spend today and this month (workspace timezone)", labels, spend
        )
        yield _family_with("ocma_ai_budget_usd", "AI budgets set by workspaces", labels, budget)


def _family_with(
    name: str, documentation: str, labels: list[str], samples: list[tuple[list[str], float]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def state_metrics(ocma: Ocma) -> bytes:
    """The state gauges in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(ocma))
    return generate_latest(registry)
