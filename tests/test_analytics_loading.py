"""Loading stored snapshots for analysis: concurrent prefetch gives the same data, once; GC pauses restore."""

from __future__ import annotations

import gc
import threading
import time
from datetime import timedelta

import pytest

from ocma_core.analytics.base import make_context
from ocma_core.analytics.gcpause import gc_paused
from ocma_core.analytics.lazy import once_property
from ocma_core.analytics.periods import parse_period
from ocma_core.analytics.synthetic import make_posts, seed
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow


class Slow:
    """Counts how often its attribute is computed."""

    def __init__(self) -> None:
        self.calls = 0

    @once_property
    def value(self) -> int:
        """Slow to compute, so threads overlap."""
        self.calls += 1
        time.sleep(0.05)
        return 42


def test_once_property_computes_once_across_threads() -> None:
    slow = Slow()
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(slow.value)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [42] * 8 and slow.calls == 1
    assert Slow().value == 42 and isinstance(Slow.__dict__["value"], once_property)


def test_gc_paused_nests_and_restores_even_on_error() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_gc_paused_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _fingerprint(ctx: object) -> tuple[object, ...]:
    history = ctx.history  # type: ignore[attr-defined]
    in_period = ctx.in_period  # type: ignore[attr-defined]
    series = ctx.series  # type: ignore[attr-defined]
    return (
        [(p.target_id, p.snapshot_id, p.interactions, p.followers, p.followers_source) for p in history],
        [(p.target_id, p.snapshot_id, p.metrics.values, p.text) for p in in_period],
        {k: (s.ids, [m.values for m in s.metrics]) for k, s in series.items()},
    )


def test_prefetch_loads_the_same_data_as_one_after_another(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    now = utcnow()
    posts = make_posts(3, 60, account_id=account_id, start=now - timedelta(days=60), days=59)
    followers = [(now - timedelta(days=60 - d), 500.0 + d) for d in range(60)]
    seed(ocma, workspace_id, account_id, posts, steps=3, followers=followers, now=now)
    period = parse_period("last-30-days", "Europe/Berlin")
    one_by_one = make_context(ocma, workspace_id, period)
    expected = _fingerprint(one_by_one)
    together = make_context(ocma, workspace_id, period)
    together.prefetch("series", "history", "in_period")
    assert {"series", "history", "in_period"} <= set(together.__dict__)
    assert _fingerprint(together) == expected
    assert len(expected[0]) > 20 and expected[0][0][3] is not None  # followers at publishing time found
    assert gc.isenabled()


@pytest.mark.parametrize("with_impressions", [True, False], ids=["impressions", "no-impressions"])
def test_follower_series_is_read_only_when_a_rate_needs_it(
    ocma: Ocma, workspace_id: str, account_id: str, with_impressions: bool
) -> None:
    from ocma_core.analytics.data import load_account_series, load_posts

    now = utcnow()
    posts = make_posts(
        4,
        30,
        account_id=account_id,
        start=now - timedelta(days=40),
        days=30,
        with_impressions=with_impressions,
    )
    followers = [(now - timedelta(days=40 - d), 700.0 + d) for d in range(40)]
    seed(ocma, workspace_id, account_id, posts, steps=3, followers=followers, now=now)
    calls: list[int] = []

    def series() -> dict[str, object]:
        calls.append(1)
        return load_account_series(ocma, workspace_id)  # type: ignore[return-value]

    lean = load_posts(ocma, workspace_id, None, None, detail=False, series=series, followers_when_needed=True)
    assert len(lean) == 30
    if with_impressions:  # rates per impression: the series is never read
        assert calls == [] and all(p.followers is None for p in lean)
    else:  # rates per follower: read once, and every post has its follower count
        assert calls == [1] and all(p.followers and p.followers >= 700 for p in lean)
    full = load_posts(ocma, workspace_id, None, None, detail=False, series=series)
    assert all(p.followers for p in full) and calls[-1] == 1


def test_snapshots_at_the_reference_age_and_the_latest_of_a_sample_are_read(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    from ocma_core.analytics.ages import interactions_at, load_at_reference, load_snapshot_series

    now = utcnow()
    posts = make_posts(5, 20, account_id=account_id, start=now - timedelta(days=90), days=60)
    seed(ocma, workspace_id, account_id, posts, steps=6, now=now)
    ids = [p.target_id for p in posts]
    full = load_snapshot_series(ocma, ids)
    every = load_at_reference(ocma, ids, 24.0, curve_sample=len(ids))
    sample = load_at_reference(ocma, ids, 24.0, curve_sample=5)
    assert set(full) == set(every) == set(sample) == set(ids)
    for target_id, rows in full.items():
        expected = sorted({r for r in rows if 24.0 - 1e-6 <= r[0] <= 36.0} | {max(rows)})
        assert [r[0] for r in sorted(every[target_id])] == pytest.approx([r[0] for r in expected])
        assert [r[1:] for r in sorted(every[target_id])] == [r[1:] for r in expected]
        assert max(r[0] for r in rows) > 36.0  # old posts: the 30-day snapshot is the latest
    assert sum(len(rows) for rows in sample.values()) == len(ids) + 5  # the 24 h one each, 5 latest
    at_24 = interactions_at(ocma, ids)
    assert at_24 == {t: min(r for r in rows if r[0] >= 24.0 - 1e-6)[1] for t, rows in full.items()}
