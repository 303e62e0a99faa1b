"""The best-time model's fast forms equal the direct ones (same numbers, less work)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import cho_factor, cho_solve

from ocma_core.analytics import besttime_model as model


def _dense_neg_loglik(
    theta: np.ndarray, xtx: np.ndarray, xty: np.ndarray, yty: float, n: int, groups: np.ndarray
) -> tuple[float, np.ndarray]:
    """-2 log marginal likelihood and gradient with the full posterior precision inverted."""
    s2 = float(np.exp(2 * theta[0]))
    dinv = np.concatenate([[model.TAU_MU], np.exp(theta[1:])])[groups] ** -2.0
    a = xtx / s2 + np.diag(dinv)
    factor = cho_factor(a, lower=True)
    b = xty / s2
    beta = cho_solve(factor, b)
    a_inv = np.linalg.inv(a)
    logdet_a = 2.0 * float(np.log(np.diag(factor[0])).sum())
    value = float(n * np.log(s2) - np.log(dinv).sum() + logdet_a + yty / s2 - b @ beta)
    d_s2 = (
        n - float((a_inv * xtx).sum()) / s2 - yty / s2 + 2 * beta @ xty / s2 - beta @ xtx @ beta / s2
    ) / s2
    per_column = 2.0 - 2.0 * dinv * (np.diag(a_inv) + beta**2)
    grad = [2 * s2 * d_s2, *(per_column[groups == g].sum() for g in (1, 2, 3))]
    return value, np.array(grad)


@pytest.mark.parametrize("n", [25, 300, 5000])
def test_likelihood_through_the_slot_block_equals_the_dense_form(n: int) -> None:
    rng = np.random.default_rng(n)
    hours, days = rng.integers(7, 22, n), rng.integers(0, 7, n)
    y = rng.normal(size=n) + 0.3 * (hours == 10)
    xtx_full, xty_full = model.sufficient(hours, days, y)
    used = np.flatnonzero(np.diag(xtx_full) > 0)
    xtx, xty = xtx_full[np.ix_(used, used)], xty_full[used]
    groups = np.searchsorted(np.array([1, 25, 32]), used, side="right")
    for theta in rng.uniform(-6.0, 0.6, size=(20, 4)):
        fast = model._neg_loglik(theta, xtx, xty, float(y @ y), n, groups)
        dense = _dense_neg_loglik(theta, xtx, xty, float(y @ y), n, groups)
        assert fast[0] == pytest.approx(dense[0], rel=1e-10, abs=1e-8)
        assert fast[1] == pytest.approx(dense[1], rel=1e-8, abs=1e-6)


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
