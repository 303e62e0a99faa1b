"""A report and the best times read the same rows with the same statements however many older snapshots
the workspace has collected (counted, not timed; SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert
from sqlmodel import col, select

from ocma_core.analytics import answers, builtin_analyzers, reports
from ocma_core.analytics.synthetic import make_posts, seed
from ocma_core.context import Ocma
from ocma_core.db.models import PostMetricSnapshot, Target
from ocma_core.db.types import new_id, utcnow
from ocma_core.plugins import PluginHost


@contextmanager
def counted(ocma: Ocma) -> Iterator[dict[str, int]]:
    """Statements sent meanwhile, and the rows they returned where the driver tells (PostgreSQL)."""
    seen = {"statements": 0, "rows": 0}

    def on_statement(_conn: Any, cursor: Any, *_: Any) -> None:
        seen["statements"] += 1
        if ocma.engine.dialect.name == "postgresql" and cursor.description is not None:
            seen["rows"] += max(cursor.rowcount, 0)

    event.listen(ocma.engine, "after_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(ocma.engine, "after_cursor_execute", on_statement)


def _analyse(ocma: Ocma, workspace_id: str) -> tuple[dict[str, int], dict[str, Any]]:
    with counted(ocma) as seen:
        best = answers.best_times(ocma, workspace_id)
        report = reports.build_report(ocma, workspace_id, "last-month")
    assert not report["errors"], report["errors"]
    return seen, {"best": best, "history_posts": report["data"]["history_posts"]}


def _remeasure(ocma: Ocma, target_ids: list[str]) -> int:
    """Copy every snapshot of the targets taken 2 days or more after publishing to an hour later."""
    with ocma.session() as session:
        rows = session.execute(
            select(PostMetricSnapshot, col(Target.published_at))
            .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
            .where(col(PostMetricSnapshot.target_id).in_(target_ids))
        ).all()
        copies = [
            {
                **{
                    k: getattr(snap, k)
                    for k in ("target_id", "account_id", "platform", "values", "unavailable")
                },
                "id": new_id(),
                "fetched_at": snap.fetched_at + timedelta(hours=1),
                "source": "test",
            }
            for snap, published_at in rows
            if snap.fetched_at - published_at >= timedelta(days=2)
        ]
        session.execute(insert(PostMetricSnapshot), copies)
    return len(copies)


def test_report_reads_no_more_for_older_snapshots(
    ocma: Ocma, workspace_id: str, account_id: str, plugin_host: PluginHost
) -> None:
    plugin_host.register(builtin_analyzers, name="builtin_analyzers")
    now = utcnow()
    recent = make_posts(1, 120, account_id=account_id, start=now - timedelta(days=200), days=199)
    followers = [(now - timedelta(days=200 - d), 900.0 + d) for d in range(200)]
    written = seed(ocma, workspace_id, account_id, recent, steps=6, followers=followers, now=now)
    _analyse(ocma, workspace_id)  # warm caches (plugins, vocabularies) before counting
    small, before = _analyse(ocma, workspace_id)

    # four more years of collected posts, all older than any window the analyses read
    old = make_posts(2, 480, account_id=account_id, start=now - timedelta(days=1700), days=1400)
    older = seed(ocma, workspace_id, account_id, old, steps=6, now=now)
    assert older >= 4 * written - 60
    # and the recent posts measured more often (an extra snapshot an hour after each one past 2 days)
    assert _remeasure(ocma, [p.target_id for p in recent]) > written / 3
    big, after = _analyse(ocma, workspace_id)

    assert big["statements"] == small["statements"] > 0
    if ocma.engine.dialect.name == "postgresql":
        assert big["rows"] == small["rows"] > 0
    assert after["history_posts"] == before["history_posts"]
    assert [r["n_posts"] for r in after["best"]] == [r["n_posts"] for r in before["best"]]
