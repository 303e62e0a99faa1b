"""The SQL that reads one chosen snapshot per published target (used by `ocma_core.analytics.data`).

Two statements with the same columns:
- `by_pointer`: posts whose snapshots were stored through `ocma_core.services.metrics`, which keeps the
  chosen snapshot on the post's MetricSchedule row (`ocma_core.analytics.pointers`). For the "matured"
  numbers it also keeps a copy of that snapshot's values, so the analyzers' history reads one row per post
  and never touches the (six times larger) snapshot table.
- `scan(ids)`: any other post (snapshots written some other way), choosing among its snapshots.
`by_pointer` also returns a row with empty snapshot columns for each post without a pointer, so the scan
runs only for those posts (by id), and not at all in the usual case where every post has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from ocma_core.analytics.vocabulary import INTERACTIONS, all_plugin_vocabularies, sql_extract
from ocma_core.db.analytics_models import MetricSchedule
from ocma_core.db.models import Post, PostMetricSnapshot, Target

MATURE_AFTER = timedelta(hours=24)
HORIZON = timedelta(days=8)
WANTED = (*INTERACTIONS, "impressions")  # what the analyzers read without `detail`


SCAN_BY_ID_LIMIT = 2000  # more posts without pointers than this: scan by the general condition instead


@dataclass(frozen=True)
class PostStatements:
    """The statements, and how many metric columns follow the seven leading ones (the target's status is
    the last column)."""

    by_pointer: Any
    scan_where: Any  # Callable[[ColumnElement[bool]], Select]: the scan for targets matching a condition
    metric_columns: int
    no_pointer: Any  # the condition "this target has no pointer"

    def scan(self, target_ids: list[str]) -> Any:
        """The scan for these targets (that `by_pointer` returned without a snapshot)."""
        if len(target_ids) > SCAN_BY_ID_LIMIT:
            return self.scan_where(self.no_pointer)
        return self.scan_where(col(Target.id).in_(target_ids))


def _age_days(dialect: str) -> ColumnElement[Any]:
    fetched, published = col(PostMetricSnapshot.fetched_at), col(Target.published_at)
    if dialect == "sqlite":
        return func.julianday(fetched) - func.julianday(published)
    return func.extract("epoch", fetched - published) / 86400.0


def _snapshot_choice(dialect: str, conditions: list[ColumnElement[bool]], basis: str) -> Any:
    """A subquery (target_id, chosen) with the fetch time of each target's chosen snapshot (no sort needed)."""
    fetched = col(PostMetricSnapshot.fetched_at)
    where = list(conditions)
    chosen: Any
    if basis == "matured":
        age = _age_days(dialect)
        horizon = HORIZON.total_seconds() / 86400
        where.append(age >= MATURE_AFTER.total_seconds() / 86400 - 1e-6)
        chosen = func.coalesce(
            func.max(fetched).filter(age <= horizon), func.min(fetched).filter(age > horizon)
        )
    else:
        chosen = func.max(fetched)
    return (
        select(col(PostMetricSnapshot.target_id).label("tid"), chosen.label("chosen"))
        .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
        .where(and_(*where))
        .group_by(col(PostMetricSnapshot.target_id))
        .subquery()
    )


def _metric_columns(values: Any, detail: bool, unavailable: Any) -> list[Any]:
    if detail:
        return [values, cast(unavailable, Text)]
    extra = all_plugin_vocabularies()
    return [sql_extract(values, name, extra=extra) for name in WANTED]


def _text_columns() -> list[Any]:
    media_count = func.json_array_length(col(Post.media_ids))
    return [
        col(Post.body),
        media_count,
        case((media_count > 0, cast(col(Post.media_ids), Text)), else_=None),
        func.json_array_length(col(Post.thread)),
        cast(col(Post.options), Text),
        cast(col(Post.variants), Text),
    ]


def post_statements(
    dialect: str, conditions: list[ColumnElement[bool]], *, basis: str, detail: bool, with_text: bool
) -> PostStatements:
    """Both statements for targets matching `conditions` (see the module doc)."""
    copied = basis == "matured" and not detail
    pointer = col(
        MetricSchedule.matured_snapshot_id if basis == "matured" else MetricSchedule.latest_snapshot_id
    )
    has_pointer = and_(
        col(MetricSchedule.kind) == "post", col(MetricSchedule.ref_id) == col(Target.id), pointer.is_not(None)
    )
    if copied:
        has_pointer = and_(has_pointer, col(MetricSchedule.matured_values).is_not(None))
    target_columns = [
        col(Target.id),
        col(Target.post_id),
        col(Target.account_id),
        col(Target.platform),
        col(Target.published_at),
    ]
    # The target's status comes last: a post deleted from its platform keeps its last snapshot, marked.
    text_columns = [*(_text_columns() if with_text else []), col(Target.status)]
    snapshot = [col(PostMetricSnapshot.id), col(PostMetricSnapshot.fetched_at)]
    scan_metrics = _metric_columns(
        col(PostMetricSnapshot.values), detail, col(PostMetricSnapshot.unavailable)
    )
    if copied:
        pointer_columns = [
            pointer,
            col(MetricSchedule.matured_fetched_at),
            *target_columns,
            *_metric_columns(col(MetricSchedule.matured_values), False, None),
            *text_columns,
        ]
        by_pointer = select(*pointer_columns).select_from(Target).outerjoin(MetricSchedule, has_pointer)
    else:
        by_pointer = (
            select(*snapshot, *target_columns, *scan_metrics, *text_columns)
            .select_from(Target)
            .outerjoin(MetricSchedule, has_pointer)
            .outerjoin(PostMetricSnapshot, col(PostMetricSnapshot.id) == pointer)
        )
    by_pointer = by_pointer.where(and_(*conditions))
    if with_text:
        by_pointer = by_pointer.join(Post, col(Post.id) == col(Target.post_id))

    def scan_where(which: ColumnElement[bool]) -> Any:
        chosen = _snapshot_choice(dialect, [*conditions, which], basis)
        stmt = (
            select(*snapshot, *target_columns, *scan_metrics, *text_columns)
            .join(
                chosen,
                and_(
                    chosen.c.tid == col(PostMetricSnapshot.target_id),
                    chosen.c.chosen == col(PostMetricSnapshot.fetched_at),
                ),
            )
            .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
        )
        return stmt.join(Post, col(Post.id) == col(Target.post_id)) if with_text else stmt

    return PostStatements(by_pointer, scan_where, len(scan_metrics), ~exists().where(has_pointer))
