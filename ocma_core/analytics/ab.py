"""The A/B decision rule: when one variant has really beaten the others, and how much data is still needed.

Rule (frequentist, fixed and stated with every result): a variant wins when its rate of interactions per
exposure (impressions, else followers) is higher than every other variant's in a two-sided quasi-Poisson
rate test (Student's t on the dispersion's degrees of freedom) at level alpha / m (Bonferroni over the
m = k(k-1)/2 pairs of k variants), once every variant has
metrics at least 24 hours old. Engagement varies far more between posts than a Poisson count would, so the
test's variance is multiplied by an over-dispersion factor phi estimated from replicate posts of the
variants (Pearson chi-square / degrees of freedom), or, with one post per variant, from the account's own
history; without either, no winner is declared. Otherwise the answer is "not yet", with the exposure per
variant still needed to detect a `min_lift` relative difference with 80% power (normal approximation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from ocma_core.analytics.stats import exposure_needed, rate_test

MIN_HISTORY_FOR_DISPERSION = 10
RULE = __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else ""


@dataclass
class Unit:
    """One published post of a variant: its interactions and exposure, and where they come from."""

    interactions: float
    exposure: float
    matured: bool = True
    trace: dict[str, Any] = field(default_factory=dict)


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


def dispersion_from_units(arms: Sequence[Arm]) -> tuple[float, int] | None:
    """Pearson chi-square / df of the units around their arm's rate, and df (None without replicates)."""
    chi2, units = 0.0, 0
    for arm in arms:
        rate = arm.k / arm.n if arm.n else 0.0
        for u in arm.units:
            expected = rate * u.exposure
            if expected > 0:
                chi2 += (u.interactions - expected) ** 2 / expected
                units += 1
    df = units - len(arms)
    return (chi2 / df, df) if df > 0 else None


def dispersion_from_history(history: Sequence[tuple[float, float]]) -> tuple[float, int] | None:
    """The same statistic over the account's past posts (interactions, exposure) around their mean rate."""
    if len(history) < MIN_HISTORY_FOR_DISPERSION:
        return None
    k = sum(i for i, _ in history)
    n = sum(e for _, e in history)
    if n <= 0 or k <= 0:
        return None
    rate = k / n
    chi2 = sum((i - rate * e) ** 2 / (rate * e) for i, e in history if e > 0)
    return chi2 / (len(history) - 1), len(history) - 1


def decide(
    arms: Sequence[Arm],
    *,
    alpha: float = 0.05,
    min_lift: float = 0.2,
    history: Sequence[tuple[float, float]] = (),
) -> dict[str, Any]:
    """Apply the rule: status collecting, winner, not_yet, no_difference or cannot_judge, with the evidence."""
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
    base: dict[str, Any] = {"rule": RULE, "alpha": alpha, "min_lift": min_lift, "variants": summary}
    if len(arms) < 2:
        return {**base, "status": "cannot_judge", "reason": "an experiment needs at least two variants"}
    if any(not a.units or a.n <= 0 for a in arms) or any(not u.matured for a in arms for u in a.units):
        return {
            **base,
            "status": "collecting",
            "reason": "waiting for every variant to be published and measured at least 24 h after publishing",
        }
    phi_units = dispersion_from_units(arms)
    phi_hist = dispersion_from_history(history)
    if phi_units is not None:
        phi, df, source = max(1.0, phi_units[0]), phi_units[1], "replicate posts of the variants"
    elif phi_hist is not None:
        phi, df, source = max(1.0, phi_hist[0]), phi_hist[1], f"the account's last {len(history)} posts"
    else:
        return {
            **base,
            "status": "cannot_judge",
            "reason": "with one post per variant the noise between posts must come from the account's history "
            f"(at least {MIN_HISTORY_FOR_DISPERSION} measured posts), which is not there yet; "
            "publish each variant more than once",
        }
    m = len(arms) * (len(arms) - 1) // 2
    level = alpha / m
    tests = {}
    for a, b in combinations(arms, 2):
        t = rate_test(a.k, a.n, b.k, b.n, dispersion=phi, df=df)
        tests[(a.variant_id, b.variant_id)] = t
    best = max(arms, key=lambda a: a.k / a.n)
    pairs = []
    wins = True
    for other in arms:
        if other is best:
            continue
        t = tests.get((best.variant_id, other.variant_id)) or tests[(other.variant_id, best.variant_id)]
        pairs.append(
            {
                "against": other.label,
                "p_value": t.p_value,
                "ratio": (best.k / best.n) / (other.k / other.n) if other.k else None,
            }
        )
        wins = wins and t.p_value <= level
    base.update(
        {
            "dispersion": phi,
            "dispersion_df": df,
            "dispersion_source": source,
            "level_per_pair": level,
            "leader": best.label,
            "comparisons": pairs,
        }
    )
    if wins:
        return {**base, "status": "winner", "winner_variant_id": best.variant_id, "winner": best.label}
    pooled = sum(a.k for a in arms) / sum(a.n for a in arms)
    need = exposure_needed(pooled, min_lift, alpha=level, dispersion=phi)
    have = min(a.n for a in arms)
    per_post = sum(a.n for a in arms) / sum(len(a.units) for a in arms)
    more = max(need - have, 0.0)
    if more <= 0:
        return {
            **base,
            "status": "no_difference",
            "exposure_needed_per_variant": need,
            "reason": f"every variant has the exposure needed to detect a {min_lift:.0%} difference, and none "
            "showed one: the variants perform alike",
        }
    return {
        **base,
        "status": "not_yet",
        "exposure_needed_per_variant": need,
        "exposure_still_needed_per_variant": more,
        "posts_still_needed_per_variant": math.ceil(more / per_post),
        "reason": f"no variant beats all others at level {level:.3g} yet; to detect a {min_lift:.0%} difference "
        f"each variant needs about {need:,.0f} exposures (has at least {have:,.0f})",
    }
