"""Statistical tests used by the analyzers, written with numpy only (documented formulas, no magic).

- Mann-Whitney U (two-sided, normal approximation with tie and continuity correction) and the
  Hodges-Lehmann shift estimate;
- Mann-Kendall trend test (tie-corrected variance) with the Theil-Sen slope;
- a single change-point in the mean (max standardised split) with a permutation p-value;
- permutation max-contrast test over groups (which hour or weekday differs, family-wise);
- Benjamini-Hochberg adjusted p-values (false discovery rate across many tests);
- a rate z-test (quasi-Poisson, over-dispersion factor) and the exposure needed for a given lift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

_N = NormalDist()


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 1.0 - _N.cdf(z)


def norm_ppf(p: float) -> float:
    """The standard normal quantile."""
    return _N.inv_cdf(p)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz's method, as in Numerical Recipes)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 3e-14:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks starting at 1, ties given their average rank."""
    a = np.asarray(a, dtype=float)
    sorter = np.argsort(a, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size)
    s = a[sorter]
    obs = np.r_[True, s[1:] != s[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    return np.asarray(0.5 * (count[dense] + count[dense - 1] + 1), dtype=float)


def _tie_sizes(a: np.ndarray) -> np.ndarray:
    _, counts = np.unique(a, return_counts=True)
    return counts[counts > 1].astype(float)


@dataclass(frozen=True)
class TwoSample:
    """A two-sample comparison."""

    p_value: float
    shift: float  # Hodges-Lehmann estimate of (x - y)
    n_x: int
    n_y: int
    method: str = "Mann-Whitney U, two-sided, normal approximation with tie correction"


def mann_whitney(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> TwoSample:
    """Does x tend to be larger or smaller than y? (rank test; robust to outliers and skew)."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = xa.size, ya.size
    if n1 == 0 or n2 == 0:
        return TwoSample(1.0, 0.0, n1, n2)
    allv = np.concatenate([xa, ya])
    ranks = rankdata(allv)
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    ties = _tie_sizes(allv)
    var = n1 * n2 / 12.0 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1))) if n > 1 else 0.0
    diff = xa[:, None] - ya[None, :] if n1 * n2 <= 250_000 else _sample_diffs(xa, ya)
    shift = float(np.median(diff))
    if var <= 0:
        return TwoSample(1.0, shift, n1, n2)
    delta = u1 - n1 * n2 / 2.0
    z = (abs(delta) - 0.5) / math.sqrt(var)
    return TwoSample(min(1.0, 2 * norm_sf(max(z, 0.0))), shift, n1, n2)


def _sample_diffs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.asarray(rng.choice(x, 250_000) - rng.choice(y, 250_000))


@dataclass(frozen=True)
class Trend:
    """A monotonic trend test of a series in time order."""

    p_value: float
    slope: float  # Theil-Sen slope, outcome units per time unit
    n: int
    method: str = "Mann-Kendall test (two-sided, tie-corrected) with Theil-Sen slope"


def mann_kendall(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> Trend:
    """Is y going up or down with t, beyond noise? (no assumption about the shape or distribution)."""
    ta, ya = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    order = np.argsort(ta, kind="mergesort")
    ta, ya = ta[order], ya[order]
    n = ya.size
    if n < 4:
        return Trend(1.0, 0.0, n)
    i, j = np.triu_indices(n, k=1)
    if i.size > 2_000_000:  # keep memory bounded on very long series: evenly thin the series
        keep = np.linspace(0, n - 1, 2000).astype(int)
        return mann_kendall(ta[keep], ya[keep])
    s = float(np.sign(ya[j] - ya[i]).sum())
    ties = _tie_sizes(ya)
    var = (n * (n - 1) * (2 * n + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum()) / 18.0
    dt = ta[j] - ta[i]
    ok = dt > 0
    slope = float(np.median((ya[j][ok] - ya[i][ok]) / dt[ok])) if ok.any() else 0.0
    if var <= 0:
        return Trend(1.0, slope, n)
    z = (s - math.copysign(1.0, s)) / math.sqrt(var) if s != 0 else 0.0
    return Trend(min(1.0, 2 * norm_sf(abs(z))), slope, n)


@dataclass(frozen=True)
class ChangePoint:
    """The most likely single shift in the mean of a series."""

    index: int  # first element of the second segment
    before: float
    after: float
    p_value: float
    method: str = "single change-point in the mean, max standardised split, permutation p-value"


def change_point(
    y: Sequence[float] | np.ndarray, *, min_size: int = 5, permutations: int = 499, seed: int = 0
) -> ChangePoint | None:
    """Where the series' level shifted most, and how surprising that is if the order were random."""
    ya = np.asarray(y, dtype=float)
    n = ya.size
    if n < 2 * min_size:
        return None
    stats_obs, k_obs = _split_stat(ya[None, :], min_size)
    # Sequential, as in max_contrast_test: 99 permutations, the rest only for a promising result.
    first = min(permutations, 99)
    exceed = int((_split_stat(_permuted(ya, first, seed), min_size)[0] >= stats_obs[0] - 1e-12).sum())
    done = first
    if (1 + exceed) / (first + 1) <= 0.2 and permutations > first:
        rest = _split_stat(_permuted(ya, permutations - first, seed + 1), min_size)[0]
        exceed += int((rest >= stats_obs[0] - 1e-12).sum())
        done = permutations
    p = (1 + exceed) / (done + 1)
    k = int(k_obs[0])
    return ChangePoint(k, float(ya[:k].mean()), float(ya[k:].mean()), p)


def _split_stat(m: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    n = m.shape[1]
    k = np.arange(min_size, n - min_size + 1)
    csum = np.cumsum(m, axis=1)
    total = csum[:, -1:]
    left = csum[:, k - 1] / k
    right = (total - csum[:, k - 1]) / (n - k)
    sd = m.std(axis=1, keepdims=True) + 1e-12
    z = np.abs(left - right) / (sd * np.sqrt(1.0 / k + 1.0 / (n - k)))
    best = z.argmax(axis=1)
    return z.max(axis=1), k[best]


def _permuted(y: np.ndarray, permutations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(rng.permuted(np.broadcast_to(y, (permutations, y.size)), axis=1))


def max_contrast_test(
    y: np.ndarray,
    groupings: Sequence[np.ndarray],
    *,
    min_size: int = 2,
    permutations: int = 499,
    seed: int = 0,
) -> tuple[float, float]:
    """Largest standardised |group mean - rest mean| over all groups of all groupings, permutation p-value.

    Taking the maximum over every group (each hour of the day, each weekday) and comparing it with the
    same maximum under random relabelling controls the family-wise error of looking at many groups.
    """
    n = y.size
    onehots = []
    for g in groupings:
        labels, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
        keep = (counts >= min_size) & (counts <= n - min_size)
        if keep.any():
            onehots.append((np.eye(labels.size)[inverse][:, keep], counts[keep].astype(float)))
    if not onehots or n < 2 * min_size:
        return 0.0, 1.0
    sd = y.std() + 1e-12

    def statistic(m: np.ndarray) -> np.ndarray:
        total = m.sum(axis=1, keepdims=True)
        best = np.zeros(m.shape[0])
        for onehot, counts in onehots:
            sums = m @ onehot
            diff = sums / counts - (total - sums) / (n - counts)
            best = np.maximum(
                best, (np.abs(diff) / (sd * np.sqrt(1 / counts + 1 / (n - counts)))).max(axis=1)
            )
        return best

    observed = float(statistic(y[None, :])[0])
    # Sequential: 99 permutations first; only a promising result (p <= 0.2) pays for the rest.
    first = min(permutations, 99)
    exceed = int((statistic(_permuted(y, first, seed)) >= observed - 1e-12).sum())
    done = first
    if (1 + exceed) / (first + 1) <= 0.2 and permutations > first:
        rest = permutations - first
        exceed += int((statistic(_permuted(y, rest, seed + 1)) >= observed - 1e-12).sum())
        done = permutations
    return observed, (1 + exceed) / (done + 1)


def bh_adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values): reject where q <= the false discovery rate."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return [float(v) for v in out]


@dataclass(frozen=True)
class RateTest:
    """Two-sided comparison of two rates of events per exposure (quasi-Poisson)."""

    p_value: float
    z: float
    rate_a: float
    rate_b: float


def rate_test(
    k_a: float, n_a: float, k_b: float, n_b: float, *, dispersion: float = 1.0, df: float | None = None
) -> RateTest:
    """Test of rate a = k_a/n_a against rate b, variance inflated by `dispersion`, two-sided.

    With `df` (the degrees of freedom the dispersion was estimated with) the statistic is referred to
    Student's t, as quasi-likelihood theory prescribes; without it, to the normal distribution.
    """
    ra, rb = (k_a / n_a if n_a else 0.0), (k_b / n_b if n_b else 0.0)
    pooled = (k_a + k_b) / (n_a + n_b) if n_a + n_b else 0.0
    var = dispersion * pooled * (1 / n_a + 1 / n_b) if n_a and n_b else 0.0
    if var <= 0:
        return RateTest(1.0, 0.0, ra, rb)
    z = (ra - rb) / math.sqrt(var)
    tail = t_sf(abs(z), df) if df else norm_sf(abs(z))
    return RateTest(min(1.0, 2 * tail), z, ra, rb)


def exposure_needed(
    base_rate: float, lift: float, *, alpha: float, power: float = 0.8, dispersion: float = 1.0
) -> float:
    """Exposures per variant for a two-sided rate test at `alpha` to detect a relative `lift` with `power`."""
    r1 = max(base_rate, 1e-12)
    r2 = r1 * (1 + lift)
    z = norm_ppf(1 - alpha / 2) + norm_ppf(power)
    return dispersion * z**2 * (r1 + r2) / (r2 - r1) ** 2
