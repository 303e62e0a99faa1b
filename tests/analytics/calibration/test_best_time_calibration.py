"""Best times are calibrated on simulated accounts with known truth (fixed seeds, tolerant bounds).

The nominal figures are 5% false claims and 90% coverage; the bounds below leave room for the Monte-Carlo
error of the number of accounts simulated (benchmarks/analytics_calibration.py runs larger samples).
"""

from __future__ import annotations

from ocma_core.analytics import best_time
from ocma_core.analytics.synthetic import make_posts

from .sim import best_time_null, best_time_planted, confident, covers_truth, found, two_pm_peers


def test_no_timing_effect_rarely_gives_a_confident_best_slot_and_intervals_cover() -> None:
    results = [best_time_null(10_000 + s, 170) for s in range(120)]
    assert sum(map(confident, results)) <= 10  # nominal 5%: 6 of 120; bounded at 8.3%
    assert sum(map(covers_truth, results)) >= 108  # 90% intervals cover the truth (1.00x) in >= 90%
    quiet = next(r for r in results if not r.measured)
    assert "no measurable difference" in quiet.message and all(s.lift == 1.0 for s in quiet.top)
    assert all(v in (None, 1.0) for v in quiet.grid)


def test_no_timing_effect_at_500_posts_stays_calibrated() -> None:
    results = [best_time_null(20_000 + s, 500) for s in range(60)]
    assert sum(map(confident, results)) <= 6  # nominal 5%: 3 of 60
    assert sum(map(covers_truth, results)) >= 54


def test_a_planted_window_is_found_in_most_accounts() -> None:
    results = [best_time_planted(30_000 + s, 170) for s in range(60)]
    assert sum(map(found, results)) >= 42  # measured: about 85%; bounded at 70% over 60 seeds
    hit = next(r for r in results if found(r))
    lo, hi = hit.top[0].lift_interval
    assert lo < hit.top[0].lift < hi and "allowing for it being the best" in hit.message


def test_peers_pattern_is_never_copied_onto_a_noise_account() -> None:
    posts = two_pm_peers()
    posts["noise"] = make_posts(77, 170, account_id="noise")
    platforms = dict.fromkeys(posts, "fakesocial")
    copied = 0
    for seed in range(20):
        posts["noise"] = make_posts(40_000 + seed, 170, account_id="noise")
        r = best_time.analyze(posts, platforms, "UTC", account_ids=["noise"])[0]
        copied += confident(r)
        if not r.measured:
            assert r.reference["kind"] == "workspace" and r.reference["detected"]
            assert "not measured on this account" in r.reference["description"]
            assert all(s.lift == 1.0 and s.probability_better == 0.5 for s in r.top)
    assert copied <= 3
