"""The kept snapshot pointers choose exactly what scanning the snapshots would choose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from ocma_core.analytics.data import load_posts
from ocma_core.analytics.pointers import POST_CADENCE, better_matured, initial_due, pointers_for
from ocma_core.analytics.synthetic import make_posts, seed
from ocma_core.context import Ocma
from ocma_core.db.analytics_models import MetricSchedule
from ocma_core.db.models import Account
from ocma_core.db.types import utcnow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_matured_rule() -> None:
    assert not better_matured(T0, None, T0 + timedelta(hours=6))  # too young
    assert better_matured(T0, None, T0 + timedelta(days=30))  # only one after the horizon: take it
    assert better_matured(T0, T0 + timedelta(days=30), T0 + timedelta(days=3))  # within beats after
    assert better_matured(T0, T0 + timedelta(days=1), T0 + timedelta(days=7))  # newer within the window
    assert not better_matured(T0, T0 + timedelta(days=7), T0 + timedelta(days=30))
    assert better_matured(T0, T0 + timedelta(days=60), T0 + timedelta(days=40))  # earliest after the window
    chosen = pointers_for(
        T0,
        [
            ("a", T0 + timedelta(hours=1), {"likes": 1}),
            ("b", T0 + timedelta(days=7), {"likes": 5}),
            ("c", T0 + timedelta(days=30), {"likes": 6}),
        ],
    )
    assert chosen["latest_snapshot_id"] == "c" and chosen["matured_snapshot_id"] == "b"
    assert chosen["matured_values"] == {"likes": 5}
    assert initial_due(T0, T0 + timedelta(minutes=5)) == (0, T0 + timedelta(minutes=10))
    assert initial_due(T0, T0 + timedelta(days=90)) == (len(POST_CADENCE), None)


def _seeded(ocma: Ocma, workspace_id: str) -> None:
    now = utcnow()
    with ocma.session() as session:
        account = Account(
            workspace_id=workspace_id,
            platform="fakesocial",
            external_id="1",
            handle="me",
            access_token_enc="never used: no platform call in this test",
        )
        session.add(account)
        session.flush()
        account_id = account.id
    posts = make_posts(5, 60, account_id=account_id, start=now - timedelta(days=50), days=49)
    seed(ocma, workspace_id, account_id, posts, steps=6, now=now)


def test_migration_copies_the_matured_values_of_existing_pointers(ocma: Ocma, workspace_id: str) -> None:
    from ocma_core.db.migrate import downgrade, upgrade
    from ocma_core.db.models import PostMetricSnapshot

    _seeded(ocma, workspace_id)
    expected = {p.target_id: p.interactions for p in load_posts(ocma, workspace_id, None, None, detail=False)}
    try:  # back to before the copies existed, then forward again (foreign keys off on SQLite, as in production)
        downgrade(ocma.engine, "0003")
        upgrade(ocma.engine)
    finally:
        upgrade(ocma.engine)  # never leave the shared test database behind head
    with ocma.session() as session:
        rows = session.exec(
            select(MetricSchedule).where(col(MetricSchedule.matured_snapshot_id).is_not(None))
        )
        pointed = rows.all()
        assert len(pointed) == len(expected)
        for row in pointed:
            snapshot = session.get(PostMetricSnapshot, row.matured_snapshot_id)
            assert snapshot is not None and row.matured_values == snapshot.values
    again = {p.target_id: p.interactions for p in load_posts(ocma, workspace_id, None, None, detail=False)}
    assert again == expected


@pytest.mark.parametrize("by_id_limit", [2000, 0], ids=["scan-by-id", "scan-by-condition"])
def test_pointers_and_scanning_agree(
    ocma: Ocma, workspace_id: str, by_id_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.analytics import post_queries

    monkeypatch.setattr(post_queries, "SCAN_BY_ID_LIMIT", by_id_limit)
    _seeded(ocma, workspace_id)
    for basis, detail in (("matured", True), ("matured", False), ("latest", True), ("latest", False)):

        def read(basis: str = basis, detail: bool = detail) -> dict[str, tuple[str, Any, float]]:
            found = load_posts(ocma, workspace_id, None, None, basis=basis, detail=detail)
            return {p.target_id: (p.snapshot_id, p.fetched_at, p.interactions) for p in found}

        kept = read()  # matured without detail: read from the copy kept on the schedule row
        with ocma.session() as session:  # forget the pointers: the loader must scan and find the same
            session.execute(update(MetricSchedule).values(matured_snapshot_id=None, latest_snapshot_id=None))
        assert read() == kept and len(kept) >= 55
        _repoint(ocma)


def _repoint(ocma: Ocma) -> None:
    from ocma_core.db.models import PostMetricSnapshot, Target

    with ocma.session() as session:
        for target in session.exec(select(Target)).all():
            snaps = session.exec(
                select(PostMetricSnapshot.id, PostMetricSnapshot.fetched_at, PostMetricSnapshot.values).where(
                    col(PostMetricSnapshot.target_id) == target.id
                )
            ).all()
            assert target.published_at is not None
            values = pointers_for(target.published_at, [(s[0], s[1], s[2]) for s in snaps])
            session.execute(
                update(MetricSchedule).where(col(MetricSchedule.ref_id) == target.id).values(**values)
            )
