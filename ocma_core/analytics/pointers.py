"""Which snapshot of each post the analyzers read, kept on the post's MetricSchedule row as snapshots arrive.

Reading "the newest snapshot" or "the snapshot at about a week" of N posts would otherwise mean scanning every
snapshot of those posts. Every post snapshot is written through `ocma_core.services.metrics`, which calls
`point_to` in the same transaction:
- latest: the snapshot with the newest fetch time;
- matured: the newest snapshot taken between 24 hours and 8 days after publishing, else the earliest one
  after that (the same rule as `ocma_core.analytics.data`, which falls back to it for posts without pointers).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from ocma_core.analytics.post_queries import HORIZON, MATURE_AFTER
from ocma_core.db.analytics_models import MetricSchedule
from ocma_core.db.models import Target

# When a post's metrics are collected, after publishing. Engagement is steepest in the first hours (most of a
# post's reach arrives on its first day), so the young post is read often: 10 and 30 minutes show the first
# reaction (live metrics), then 1, 3, 6 and 12 hours follow the climb; the curve then flattens, so 24 h
# (kept exactly: ages.py compares posts at 24 h), 3 d, 7 d and 30 d suffice. Each step is one read call per
# post: 10 in all, 7 of them on the first day (docs/analytics.md sets this against each platform's budget).
POST_CADENCE = (
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=30),
)


def initial_due(published_at: datetime, now: datetime) -> tuple[int, datetime | None]:
    """Step and time of a post's first collection: now when a step has passed, else its first step."""
    passed = [s for s, off in enumerate(POST_CADENCE) if published_at + off <= now]
    if not passed:
        return 0, published_at + POST_CADENCE[0]
    if published_at + POST_CADENCE[-1] + timedelta(days=1) < now:
        return len(POST_CADENCE), None  # too old to follow: only backfill reads it
    return passed[-1], now


def better_matured(published: datetime, current: datetime | None, candidate: datetime) -> bool:
    """Whether a snapshot fetched at `candidate` should replace the matured one fetched at `current`."""
    age = candidate - published
    if age < MATURE_AFTER:
        return False
    if current is None:
        return True
    current_within = current - published <= HORIZON
    if age <= HORIZON:
        return not current_within or candidate >= current
    return not current_within and candidate < current


def insert_ignoring_conflicts(session: Any, rows: list[dict[str, Any]]) -> None:
    """Insert MetricSchedule rows, skipping any (kind, ref_id) that exists (another worker was first)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(MetricSchedule).on_conflict_do_nothing(index_elements=["kind", "ref_id"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(MetricSchedule).on_conflict_do_nothing(index_elements=["kind", "ref_id"])
    session.connection().execute(stmt, rows)


def point_to(
    session: Any,
    target: Target,
    snapshot_id: str,
    fetched_at: datetime,
    now: datetime,
    values: dict[str, Any],
) -> None:
    """Update the post's pointers for a newly stored snapshot (creating its schedule row if needed)."""
    from ocma_core.db.types import new_id

    if target.published_at is None:
        return
    step, due = initial_due(target.published_at, now)
    insert_ignoring_conflicts(
        session,
        [
            {
                "id": new_id(),
                "kind": "post",
                "ref_id": target.id,
                "workspace_id": target.workspace_id,
                "account_id": target.account_id,
                "platform": target.platform,
                "step": step,
                "next_due_at": due,
                "failures": 0,
                "note": "",
            }
        ],
    )
    row = session.exec(
        select(MetricSchedule).where(
            col(MetricSchedule.kind) == "post", col(MetricSchedule.ref_id) == target.id
        )
    ).one()
    if row.latest_fetched_at is None or fetched_at >= row.latest_fetched_at:
        row.latest_snapshot_id, row.latest_fetched_at = snapshot_id, fetched_at
    if better_matured(target.published_at, row.matured_fetched_at, fetched_at):
        row.matured_snapshot_id, row.matured_fetched_at = snapshot_id, fetched_at
        row.matured_values = dict(values)
    session.add(row)


def pointers_for(
    published_at: datetime, snapshots: list[tuple[str, datetime, dict[str, Any]]]
) -> dict[str, Any]:
    """The pointer columns for a post's snapshots (id, fetch time, values), as `point_to` would leave them."""
    out: dict[str, Any] = {
        "latest_snapshot_id": None,
        "latest_fetched_at": None,
        "matured_snapshot_id": None,
        "matured_fetched_at": None,
        "matured_values": None,
    }
    for sid, fetched, values in sorted(snapshots, key=lambda s: s[1]):
        out["latest_snapshot_id"], out["latest_fetched_at"] = sid, fetched
        if better_matured(published_at, out["matured_fetched_at"], fetched):
            out["matured_snapshot_id"], out["matured_fetched_at"] = sid, fetched
            out["matured_values"] = dict(values)
    return out


# Targets published less than the first cadence step ago: their first read is that step (initial_due's first
# case), so PostgreSQL schedules them in one statement, without a row going through Python.
_SCHEDULE_FRESH_PG = """
INSERT INTO metricschedule (id, kind, ref_id, workspace_id, account_id, platform, step, next_due_at, failures, note)
SELECT replace(gen_random_uuid()::text, '-', ''), 'post', t.id, t.workspace_id, t.account_id, t.platform, 0,
  t.published_at + :first_step, 0, ''
FROM target t
WHERE t.status = 'published' AND t.published_at > :fresh_after AND t.external_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM metricschedule m WHERE m.kind = 'post' AND m.ref_id = t.id)
ON CONFLICT (kind, ref_id) DO NOTHING
"""


def schedule_fresh_posts(session: Any, now: datetime) -> int:
    """On PostgreSQL, add the schedule rows of targets published within the first cadence step (in the database,
    one statement); returns how many were added. Elsewhere 0: the caller schedules every target itself."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    from sqlalchemy import text

    params = {"first_step": POST_CADENCE[0], "fresh_after": now - POST_CADENCE[0]}
    return int(session.connection().execute(text(_SCHEDULE_FRESH_PG), params).rowcount)
