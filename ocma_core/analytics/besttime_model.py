"""The empirical-Bayes hour-of-week model behind best times, and the timing scan test that gates it.

Model (log engagement rate y of each post):
    y = mu + hour_of_day[h] + weekday[d] + hour_of_week[d, h] + noise,   noise ~ N(0, sigma^2),
    hour ~ N(0, tau_hour^2), weekday ~ N(0, tau_day^2), hour-of-week ~ N(0, tau_slot^2).
The spreads tau and sigma are *estimated* from the account's posts by maximising the marginal likelihood
(empirical Bayes; the intercept has a flat prior, so this is REML for the intercept). When the hours do not
differ, the estimated spreads go to zero and every slot shrinks to "no difference". Intervals are
simultaneous over all candidate slots (the 90% quantile of the largest standardised deviation, simulated
from the posterior), so the slot picked as the best keeps its stated coverage despite being the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

P = 1 + 24 + 7 + 168
TAU_MU = 100.0  # flat prior on the intercept
TAU_BOUNDS = (1e-3, 2.0)
SIGMA_BOUNDS = (0.02, 5.0)
_SIM_DRAWS = 2000


def columns(hours: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Column indices (intercept, hour, weekday, hour of week) of each post, shape (n, 4)."""
    return np.stack([np.zeros_like(hours), 1 + hours, 25 + days, 32 + days * 24 + hours], axis=1)


def sufficient(hours: np.ndarray, days: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X'X and X'y of the indicator design, built from counts (no n x 200 matrix)."""
    cols = columns(hours, days)
    xtx = np.zeros((P, P))
    np.add.at(xtx, (np.repeat(cols, 4, axis=1).ravel(), np.tile(cols, (1, 4)).ravel()), 1.0)
    xty = np.zeros(P)
    for k in range(4):
        np.add.at(xty, cols[:, k], y)
    return xtx, xty


@dataclass
class Fit:
    """Estimated spreads and the posterior of each slot's log lift over the account's average post."""

    sigma: float
    tau_hour: float
    tau_day: float
    tau_slot: float
    mean: np.ndarray  # (168,) posterior mean of slot log lift (slot expectation minus the average post's)
    sd: np.ndarray  # (168,) posterior sd of the same
    cov: np.ndarray  # (168, 168) posterior covariance


def _prior_precision(tau_hour: float, tau_day: float, tau_slot: float) -> np.ndarray:
    return np.concatenate(
        [[1 / TAU_MU**2], np.full(24, tau_hour**-2), np.full(7, tau_day**-2), np.full(168, tau_slot**-2)]
    )


def _neg_loglik(
    theta: np.ndarray, xtx: np.ndarray, xty: np.ndarray, yty: float, n: int, groups: np.ndarray
) -> tuple[float, np.ndarray]:
    """-2 log marginal likelihood (up to a constant) and its gradient, Woodbury form on the used columns.

    `groups` gives each used column's parameter: 0 = intercept (fixed flat prior), 1..3 = tau_hour, tau_day,
    tau_slot; theta = (log sigma, log tau_hour, log tau_day, log tau_slot).
    """
    s2 = float(np.exp(2 * theta[0]))
    taus = np.concatenate([[TAU_MU], np.exp(theta[1:])])
    dinv = taus[groups] ** -2.0
    a = xtx / s2 + np.diag(dinv)
    try:
        factor = cho_factor(a, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e12, np.zeros(4)
    b = xty / s2
    beta = cho_solve(factor, b, check_finite=False)
    a_inv = cho_solve(factor, np.eye(a.shape[0]), check_finite=False)
    logdet_a = 2.0 * float(np.log(np.diag(factor[0])).sum())
    value = float(n * np.log(s2) - np.log(dinv).sum() + logdet_a + yty / s2 - b @ beta)
    grad = np.zeros(4)
    d_s2 = (
        n / s2
        - float((a_inv * xtx).sum()) / s2**2
        - yty / s2**2
        + 2 * float(beta @ xty) / s2**2
        - float(beta @ xtx @ beta) / s2**2
    )
    grad[0] = 2 * s2 * d_s2
    per_column = 2.0 - 2.0 * dinv * (np.diag(a_inv) + beta**2)
    for g in (1, 2, 3):
        grad[g] = float(per_column[groups == g].sum())
    return value, grad


def fit(hours: np.ndarray, days: np.ndarray, y: np.ndarray) -> Fit:
    """Estimate the spreads by marginal likelihood and return the posterior of every slot's log lift."""
    xtx_full, xty_full = sufficient(hours, days, y)
    used = np.flatnonzero(np.diag(xtx_full) > 0)
    xtx, xty = xtx_full[np.ix_(used, used)], xty_full[used]
    n, yty = int(y.size), float(y @ y)
    sd_y = float(max(y.std(), 0.05))
    bounds = [tuple(np.log(SIGMA_BOUNDS))] + [tuple(np.log(TAU_BOUNDS))] * 3
    groups = np.searchsorted(np.array([1, 25, 32]), used, side="right")
    x0 = np.log([sd_y, 0.1, 0.1, 0.1])
    best = minimize(
        _neg_loglik, x0, args=(xtx, xty, yty, n, groups), jac=True, method="L-BFGS-B", bounds=bounds
    )
    sigma, tau_hour, tau_day, tau_slot = (float(v) for v in np.exp(best.x))
    return _posterior(xtx_full, xty_full, used, n, sigma, tau_hour, tau_day, tau_slot)


def _posterior(
    xtx_full: np.ndarray,
    xty_full: np.ndarray,
    used: np.ndarray,
    n: int,
    sigma: float,
    tau_hour: float,
    tau_day: float,
    tau_slot: float,
) -> Fit:
    """Posterior of each slot's expected log rate minus the average post's (contrast u_s - mean row)."""
    s2 = sigma**2
    xtx, xty = xtx_full[np.ix_(used, used)], xty_full[used]
    a = xtx / s2 + np.diag(_prior_precision(tau_hour, tau_day, tau_slot)[used])
    factor = cho_factor(a, lower=True, check_finite=False)
    beta = cho_solve(factor, xty / s2, check_finite=False)
    position = {int(c): i for i, c in enumerate(used)}
    xbar = xtx_full[0, used] / n  # the average post's row of the design
    contrast = np.tile(-xbar, (168, 1))
    for s in range(168):
        for c in (0, 1 + s % 24, 25 + s // 24, 32 + s):
            if c in position:
                contrast[s, position[c]] += 1.0
    mean = contrast @ beta
    cov = contrast @ cho_solve(factor, contrast.T, check_finite=False)
    # slots whose hour or weekday was never posted in keep their prior variance in those components
    d, h = np.divmod(np.arange(168), 24)
    extra = (
        np.where(xtx_full[1 + h, 1 + h] == 0, tau_hour**2, 0.0)
        + np.where(xtx_full[25 + d, 25 + d] == 0, tau_day**2, 0.0)
        + np.where(xtx_full[32 + np.arange(168), 32 + np.arange(168)] == 0, tau_slot**2, 0.0)
    )
    cov = cov + np.diag(extra)
    return Fit(sigma, tau_hour, tau_day, tau_slot, mean, np.sqrt(np.maximum(np.diag(cov), 1e-12)), cov)


def simultaneous_z(cov: np.ndarray, slots: np.ndarray, level: float, seed: int = 0) -> float:
    """The `level` quantile of max |Z_s| / sd_s over `slots` for Z ~ N(0, cov) (simulated, fixed seed)."""
    if slots.size == 0:
        return 0.0
    sub = cov[np.ix_(slots, slots)]
    sd = np.sqrt(np.maximum(np.diag(sub), 1e-12))
    corr = sub / np.outer(sd, sd)
    values, vectors = np.linalg.eigh(corr)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((_SIM_DRAWS, slots.size)) @ root.T
    return float(np.quantile(np.abs(draws).max(axis=1), level))


def window_indicators(hours: np.ndarray, days: np.ndarray, longest: int = 6) -> tuple[np.ndarray, list[str]]:
    """Membership of each post in every contiguous hour-of-day window (1..`longest` h), weekday and weekend."""
    cols, names = [], []
    for length in range(1, longest + 1):
        for start in range(24):
            member = ((hours - start) % 24) < length
            cols.append(member)
            names.append(f"{start:02d}:00+{length}h")
    for d in range(7):
        cols.append(days == d)
        names.append(f"weekday {d}")
    cols.append(days >= 5)
    names.append("weekend")
    return np.stack(cols, axis=1).astype(float), names


def slot_windows(longest: int = 6) -> np.ndarray:
    """`window_indicators` of the 168 hours of the week (row s: weekday s // 24, hour s % 24); read-only."""
    cached = _SLOT_WINDOWS.get(longest)
    if cached is None:
        s = np.arange(168)
        cached, _ = window_indicators(s % 24, s // 24, longest)
        cached.flags.writeable = False
        _SLOT_WINDOWS[longest] = cached
    return cached


_SLOT_WINDOWS: dict[int, np.ndarray] = {}


def scan_test(
    y: np.ndarray,
    indicators: np.ndarray,
    *,
    min_size: int = 3,
    permutations: int = 199,
    seed: int = 0,
    one_sided: bool = True,
) -> tuple[float, float]:
    """Largest standardised (mean inside a window - mean outside) over all windows, permutation p-value.

    One-sided by default (is some window *better* than the rest?), which is the question a best time
    answers; `one_sided=False` takes the absolute difference.

    The maximum over every window is compared with the same maximum under random reassignment of the
    outcomes to the posting times, which controls the family-wise error of scanning many windows.
    `indicators` has one row per post; posts with the same row are grouped (see `grouped_scan_test`).
    """
    rows, group = np.unique(indicators, axis=0, return_inverse=True)
    return grouped_scan_test(
        y,
        np.asarray(group).ravel(),
        rows,
        min_size=min_size,
        permutations=permutations,
        seed=seed,
        one_sided=one_sided,
    )


def grouped_scan_test(
    y: np.ndarray,
    group: np.ndarray,
    indicators: np.ndarray,
    *,
    min_size: int = 3,
    permutations: int = 199,
    seed: int = 0,
    one_sided: bool = True,
) -> tuple[float, float]:
    """`scan_test` for posts in groups (e.g. hours of the week): post i is in group `group[i]`, and
    `indicators[g]` is group g's membership in every window.

    Same permutations (same seed, same draws) and statistic as the per-post form, computed from each
    permutation's sums per group: O(posts + groups x windows) per permutation instead of O(posts x windows).
    """
    n = y.size
    counts = np.bincount(group, minlength=indicators.shape[0]).astype(float) @ indicators
    keep = (counts >= min_size) & (counts <= n - min_size)
    if not keep.any():
        return 0.0, 1.0
    w, c = indicators[:, keep], counts[keep]
    scale = np.sqrt(1 / c + 1 / (n - c))
    member = sparse.csr_matrix((np.ones(n), (group, np.arange(n))), shape=(indicators.shape[0], n))
    centred_y = y - y.mean()
    sd = float(centred_y.std()) + 1e-12  # every permutation has the same values, so the same spread

    def statistic(m: np.ndarray) -> np.ndarray:
        sums = np.asarray(member @ m.T).T  # (rows, groups): sum of each permutation's values per group
        inside = (sums @ w - m.mean(axis=1, keepdims=True) * c) / c  # mean inside, of centred values
        diff = inside * n / (n - c)  # the outside mean is -inside * c / (n - c)
        z = diff / (sd * scale)
        return np.asarray((z if one_sided else np.abs(z)).max(axis=1))

    observed = float(statistic(centred_y[None, :])[0])
    rng = np.random.default_rng(seed)
    first = min(permutations, 99)
    # the shuffle draws positions only, so permuting the centred values is the same permutation
    perm = rng.permuted(np.broadcast_to(centred_y, (first, n)), axis=1)
    exceed, done = int((statistic(perm) >= observed - 1e-12).sum()), first
    if (1 + exceed) / (first + 1) <= 0.2 and permutations > first:
        perm = rng.permuted(np.broadcast_to(centred_y, (permutations - first, n)), axis=1)
        exceed += int((statistic(perm) >= observed - 1e-12).sum())
        done = permutations
    return observed, (1 + exceed) / (done + 1)
