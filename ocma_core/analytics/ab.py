"""The A/B decision rule: one decision, at a stated age, from a test that models post-to-post variation.

Rule (frequentist, fixed in advance and stated with every result): every published post of a variant on
an account is one unit, measured at the same age after publishing (the experiment's horizon, 24 h by
default; counts are interpolated between the snapshots around that age). Each unit's outcome is its log
engagement rate log((interactions + 0.5) / exposure). A linear model with one effect per account and one
per variant is fitted; the residual variance measures how much posts differ beyond the variant (Student's t
on its degrees of freedom). With fewer than 2 residual degrees of freedom (one post per variant on one
account), the between-post variance comes from the account's own past posts measured at the same age, plus
each variant post's own Poisson variance at its exposure, with Satterthwaite's degrees of freedom (the
spread of the past posts' variance, widened by their excess kurtosis); with neither, no judgement is made. A variant
wins when it beats every other in a two-sided t-test at level alpha / m (Bonferroni over the m pairs).
Otherwise the variants are "alike" only if an equivalence test (two one-sided tests at alpha / m) places
every ratio to the leader within 1 / (1 + min_lift) .. 1 + min_lift; else the answer is "inconclusive",
with the posts per variant such a test would need. The decision is taken once, when every unit has reached
the horizon, and then kept: looks before it test nothing, so repeated looks cannot inflate the error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats

MIN_HISTORY = 10
POWER = 0.8
RULE = " ".join(__doc__.split("\n\n")[1].split()) if __doc__ else ""


@dataclass
class Unit:
    """One published post of a variant on one account, measured at the horizon age."""

    interactions: float
    exposure: float
    matured: bool = True  # reached the horizon age
    account_id: str = "account"
    trace: dict[str, Any] = field(default_factory=dict)

    @property
    def y(self) -> float:
        """Log engagement rate."""
        return math.log((self.interactions + 0.5) / self.exposure)

    @property
    def poisson_var(self) -> float:
        """Variance of y from counting alone (delta method)."""
        return 1.0 / (self.interactions + 0.5)


@dataclass
class Arm:
    """A variant's units."""

    variant_id: str
    label: str
    units: list[Unit]

    @property
    def k(self) -> float:
        """Total interactions."""
        return sum(u.interactions for u in self.units)

    @property
    def n(self) -> float:
        """Total exposure."""
        return sum(u.exposure for u in self.units)


@dataclass
class PastVariance:
    """Between-post variance from past posts: its estimate, the total it came from, and their spread."""

    tau2: float  # log-rate variance minus its counting part
    total: float  # log-rate variance around each account's mean
    df: int
    n: int
    excess_kurtosis: float  # of the residuals (>= 0), widens the spread of `total`

    def effective_df(self, extra: float) -> float:
        """Satterthwaite degrees of freedom of tau2 + extra, counting the residuals' excess kurtosis.

        Var(total) = total^2 (2 / df + kurtosis / n); subtracting the counting part shrinks the estimate
        but not its spread, so the df of tau2 + extra fall below the history's df.
        """
        spread = self.total**2 * (2.0 / self.df + self.excess_kurtosis / self.n)
        value = self.tau2 + extra
        return float(min(self.df, max(1.0, 2.0 * value**2 / spread))) if spread > 0 else float(self.df)


@dataclass
class History:
    """The account's past posts at the horizon age: (account_id, interactions, exposure)."""

    rows: Sequence[tuple[str, float, float]] = ()

    def between_post_variance(self) -> PastVariance | None:
        """Variance of log rates around each account's mean minus the counting part, with its spread."""
        if len(self.rows) < MIN_HISTORY:
            return None
        by_account: dict[str, list[Unit]] = {}
        for account, k, e in self.rows:
            if e > 0:
                by_account.setdefault(account, []).append(Unit(k, e, account_id=account))
        resid = np.array([u.y - np.mean([v.y for v in us]) for us in by_account.values() for u in us])
        df = len(resid) - len(by_account)
        if df < MIN_HISTORY - 1:
            return None
        counting = float(np.mean([u.poisson_var for us in by_account.values() for u in us]))
        total = float(np.sum(np.square(resid))) / df
        kurt = float(stats.kurtosis(resid, bias=False)) if total > 0 else 0.0
        return PastVariance(max(total - counting, 0.0), total, df, len(resid), max(kurt, 0.0))


def _fit(arms: Sequence[Arm]) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Least squares of y on variant + account effects: variant effects, their covariance / s2, RSS, df."""
    units = [(i, u) for i, a in enumerate(arms) for u in a.units]
    accounts = sorted({u.account_id for _, u in units})
    k = len(arms)
    x = np.zeros((len(units), k + len(accounts) - 1))
    for row, (i, u) in enumerate(units):
        x[row, i] = 1.0
        j = accounts.index(u.account_id)
        if j > 0:
            x[row, k + j - 1] = 1.0
    y = np.array([u.y for _, u in units])
    rank = int(np.linalg.matrix_rank(x))
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    rss = float(np.sum((y - x @ coef) ** 2))
    xtx_inv = np.linalg.pinv(x.T @ x)
    return coef[:k], xtx_inv[:k, :k], rss, len(units) - rank


def _identified(arms: Sequence[Arm]) -> bool:
    """Every pair of variants shares an account, or every variant is on every account (effects estimable)."""
    sets = [{u.account_id for u in a.units} for a in arms]
    return all(sa & sb for sa, sb in combinations(sets, 2)) or len({frozenset(s) for s in sets}) == 1


def decide(
    arms: Sequence[Arm],
    *,
    alpha: float = 0.05,
    min_lift: float = 0.2,
    history: History | None = None,
    horizon_hours: float = 24.0,
) -> dict[str, Any]:
    """Apply the rule: collecting, winner, alike, inconclusive or cannot_judge, with the evidence."""
    summary = [
        {
            "variant_id": a.variant_id,
            "label": a.label,
            "posts": len(a.units),
            "interactions": a.k,
            "exposure": a.n,
            "rate": a.k / a.n if a.n else None,
        }
        for a in arms
    ]
    base: dict[str, Any] = {
        "rule": RULE,
        "alpha": alpha,
        "min_lift": min_lift,
        "horizon_hours": horizon_hours,
        "variants": summary,
    }
    if len(arms) < 2:
        return {**base, "status": "cannot_judge", "reason": "an experiment needs at least two variants"}
    if any(not a.units or a.n <= 0 for a in arms) or any(not u.matured for a in arms for u in a.units):
        return {
            **base,
            "status": "collecting",
            "reason": f"waiting for every variant to be published and measured {horizon_hours:g} h after "
            "publishing; nothing is tested before then",
        }
    if not _identified(arms):
        return {**base, "status": "cannot_judge", "reason": "the variants share no account to compare on"}
    effects, cov_unit, rss, df = _fit(arms)
    variance = _variance(arms, rss, df, history)
    if variance is None:
        return {
            **base,
            "status": "cannot_judge",
            "reason": "with one post per variant the variation between posts must come from the account's "
            f"past posts ({MIN_HISTORY} or more measured at the same age), which are not there yet; publish "
            "each variant more than once, or on several accounts",
        }
    return {**base, **_judge(arms, effects, cov_unit, variance, alpha, min_lift)}


@dataclass
class _Variance:
    s2: float  # residual variance of one unit's log rate
    df: float
    source: str
    extra: float = 0.0  # with history: the counting variance of the variant posts themselves


def _variance(arms: Sequence[Arm], rss: float, df: int, history: History | None) -> _Variance | None:
    if df >= 2:
        return _Variance(rss / df, df, f"the variants' own posts ({df} residual degrees of freedom)")
    found = history.between_post_variance() if history else None
    if found is None:
        return None
    extra = float(np.mean([u.poisson_var for a in arms for u in a.units]))
    eff = found.effective_df(extra)
    source = (
        f"the accounts' last {found.n} past posts at the same age ({eff:.1f} effective degrees of freedom)"
    )
    return _Variance(found.tau2, eff, source, extra)


def _compare(
    arms: Sequence[Arm],
    effects: np.ndarray,
    cov_unit: np.ndarray,
    v: _Variance,
    best: int,
    level: float,
    margin: float,
) -> tuple[list[dict[str, Any]], bool, bool]:
    """The leader against each other variant: t-test at `level`, and two one-sided tests within `margin`."""
    pairs: list[dict[str, Any]] = []
    wins = alike = True
    for j in range(len(arms)):
        if j == best:
            continue
        diff = float(effects[best] - effects[j])
        var = (v.s2 + v.extra) * float(cov_unit[best, best] + cov_unit[j, j] - 2 * cov_unit[best, j])
        se = math.sqrt(max(var, 1e-12))
        p = float(2 * stats.t.sf(abs(diff) / se, v.df))
        half = float(stats.t.ppf(1 - level, v.df)) * se  # (1 - 2 level) interval: two one-sided tests
        pairs.append(
            {
                "against": arms[j].label,
                "ratio": math.exp(diff),
                "p_value": p,
                "ratio_interval": (math.exp(diff - half), math.exp(diff + half)),
            }
        )
        wins = wins and p <= level
        alike = alike and -margin < diff - half and diff + half < margin
    return pairs, wins, alike


def _judge(
    arms: Sequence[Arm],
    effects: np.ndarray,
    cov_unit: np.ndarray,
    v: _Variance,
    alpha: float,
    min_lift: float,
) -> dict[str, Any]:
    m = len(arms) * (len(arms) - 1) // 2
    level = alpha / m
    best = int(np.argmax(effects))
    margin = math.log1p(min_lift)
    pairs, wins, alike = _compare(arms, effects, cov_unit, v, best, level, margin)
    evidence: dict[str, Any] = {
        "between_post_sd": math.sqrt(v.s2),
        "variance_df": v.df,
        "variance_source": v.source,
        "level_per_pair": level,
        "leader": arms[best].label,
        "comparisons": pairs,
    }
    if wins:
        return {
            **evidence,
            "status": "winner",
            "winner_variant_id": arms[best].variant_id,
            "winner": arms[best].label,
        }
    z = stats.norm.ppf(1 - level / 2) + stats.norm.ppf(POWER)
    unit_var = v.s2 + v.extra
    needed = math.ceil(2 * z**2 * unit_var / margin**2)
    if alike:
        return {
            **evidence,
            "status": "alike",
            "reason": f"an equivalence test places every variant within {min_lift:.0%} of the leader",
        }
    return {
        **evidence,
        "status": "inconclusive",
        "posts_needed_per_variant": needed,
        "reason": f"no variant beats all others at level {level:.3g}, and the data cannot rule out a "
        f"{min_lift:.0%} difference either; a new experiment would need about {needed} posts per variant "
        f"(each on comparable slots) to detect one with {POWER:.0%} power",
    }


def at_age(
    snapshots: Sequence[tuple[float, float, float]], horizon_hours: float
) -> tuple[float, float] | None:
    """(interactions, exposure) at `horizon_hours` after publishing from (age_hours, interactions, exposure).

    Linear interpolation between the snapshots either side of the horizon; the first one after it alone
    when nothing was taken before (accepted up to 1.5 x the horizon); None when the horizon is not reached.
    """
    ordered = sorted(snapshots)
    after = next((s for s in ordered if s[0] >= horizon_hours), None)
    if after is None:
        return None
    before = [s for s in ordered if s[0] < horizon_hours]
    if not before:
        return (after[1], after[2]) if after[0] <= 1.5 * horizon_hours else None
    b = before[-1]
    w = (horizon_hours - b[0]) / (after[0] - b[0])
    return b[1] + w * (after[1] - b[1]), b[2] + w * (after[2] - b[2])
