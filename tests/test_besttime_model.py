"""The best-time scan test by hour of the week equals the per-post form (same numbers, less work)."""

from __future__ import annotations

import numpy as np
import pytest

from ocma_core.analytics import besttime_model as model


@pytest.mark.parametrize("one_sided", [True, False])
def test_scan_test_by_hour_of_week_equals_the_per_post_form(one_sided: bool) -> None:
    rng = np.random.default_rng(7)
    n = 400
    hours, days = rng.integers(0, 24, n), rng.integers(0, 7, n)
    y = rng.normal(size=n) + 0.4 * (hours == 10)
    per_post, _ = model.window_indicators(hours, days)
    grouped = model.grouped_scan_test(y, days * 24 + hours, model.slot_windows(), seed=3, one_sided=one_sided)
    stat, p = model.scan_test(y, per_post, seed=3, one_sided=one_sided)
    # the per-post statistic written out: standardised mean inside minus outside, largest window
    inside = per_post.astype(bool)
    c = inside.sum(axis=0)
    keep = (c >= 3) & (c <= n - 3)
    diff = np.array([y[m].mean() - y[~m].mean() for m in inside.T[keep]])
    z = diff / (y.std() * np.sqrt(1 / c[keep] + 1 / (n - c[keep])))
    assert stat == pytest.approx(float((z if one_sided else np.abs(z)).max()), rel=1e-9)
    assert grouped[0] == pytest.approx(stat, rel=1e-12) and grouped[1] == p
