"""The A/B rule declares a false winner at most at its nominal 5% in every A/A scenario (fixed seeds).

Each check runs N simulated A/A experiments and allows the winners a rule exactly at the nominal rate would
exceed only with probability 0.1% (the binomial 99.9% quantile: 131 of 2000, 6.6%; 73 of 1000, 7.3%). That
tolerance is Monte-Carlo error, not slack in the rule: benchmarks/analytics_calibration.py runs 20000 per
scenario and prints each rate with its 95% interval.
"""

from __future__ import annotations

import pytest
from scipy import stats

from ocma_core.analytics import ab

from .ab_sim import SCENARIOS, ages_and_looks, decide

NOMINAL = 0.05
FALSE_ALARM = 0.001  # chance this suite fails although the rule's true rate is exactly NOMINAL


def mc_bound(runs: int, nominal: float = NOMINAL) -> int:
    """Most winners out of `runs` a rule at the `nominal` rate produces with probability 1 - FALSE_ALARM."""
    return int(stats.binom.ppf(1 - FALSE_ALARM, runs, nominal))


def test_the_monte_carlo_bound_is_derived_from_the_number_of_runs() -> None:
    assert mc_bound(2000) == 131 and mc_bound(1000) == 73
    assert stats.binom.sf(mc_bound(2000), 2000, NOMINAL) <= FALSE_ALARM


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_a_experiments_rarely_declare_a_winner(name: str) -> None:
    runs = 2000
    results = [decide(name, 60_000 + s) for s in range(runs)]
    winners = sum(r["status"] == "winner" for r in results)
    assert winners <= mc_bound(runs)
    assert all(r["status"] in ("winner", "inconclusive", "alike") for r in results)
    undecided = next(r for r in results if r["status"] == "inconclusive")
    assert undecided["posts_needed_per_variant"] >= 1 and "cannot rule out" in undecided["reason"]


def test_one_post_per_variant_counts_the_noise_of_the_history_variance() -> None:
    """With 5x the history's exposure the subtracted counting variance costs degrees of freedom."""
    s = decide("exposure5x", 1)
    assert "effective degrees of freedom" in str(s["variance_source"])
    assert 1.0 <= float(s["variance_df"]) < 19  # 20 past posts on one account: at most 19


def test_variants_of_different_ages_looked_at_repeatedly_are_compared_at_the_same_age() -> None:
    runs = [ages_and_looks(70_000 + s) for s in range(1000)]
    assert sum("winner" in statuses for statuses in runs) <= mc_bound(1000)
    for statuses in runs:  # nothing is tested before B is 24 h old, and the one decision then stands
        assert statuses[:5] == ["collecting"] * 5 and len(set(statuses[5:])) == 1


def test_a_planted_difference_is_found_and_alike_needs_an_equivalence_test() -> None:
    from .ab_sim import scenario

    wins = 0
    for s in range(100):
        arms = scenario("equal", 80_000 + s, lift=2.5)["arms"]
        more = scenario("equal", 90_000 + s, lift=2.5)["arms"]  # six posts per variant
        for arm, extra in zip(arms, more, strict=True):  # type: ignore[call-overload]
            arm.units += extra.units
        r = ab.decide(arms)
        wins += r["status"] == "winner" and r["winner"] == "B"
    assert wins >= 70
    many = [ab.Arm(x, x, [ab.Unit(200.0 + i, 10_000.0) for i in range(-20, 21, 2)]) for x in "AB"]
    assert ab.decide(many)["status"] == "alike"
