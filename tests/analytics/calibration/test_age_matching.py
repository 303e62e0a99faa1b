"""Posts compared at the same age: on accounts where older posts win only by age, nothing is found.

Each account has one true level; recent posts are measured at 24 h or 3 days (85% and 95% of their final
counts), older ones at a week, and posts older than 45 days were imported today with one snapshot. Bounds
come from the number of simulated accounts (see test_ab_calibration.mc_bound).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from scipy import stats

from ocma_core.analytics import ages, trends
from ocma_core.analytics.data import PostObs

from .age_sim import NOW, account
from .test_ab_calibration import mc_bound

RUNS = 300


def _findings(posts: list[PostObs]) -> list[trends.Finding]:
    start, history = NOW - timedelta(days=7), NOW - timedelta(days=90)
    return trends.adjust(trends.engagement_findings(posts, "a", "fakesocial", start, NOW, history))


def test_trends_at_matched_ages_find_nothing_where_unmatched_ones_see_a_decline() -> None:
    raw = matched = 0
    for seed in range(RUNS):
        posts, series = account(seed)
        raw += any(f.significant and f.direction == "down" for f in _findings(posts))
        matched += any(f.significant for f in _findings(ages.at_reference_age(posts, series).posts))
    assert raw > mc_bound(RUNS)  # age alone makes a calibrated-looking test cry "down"
    assert matched <= mc_bound(RUNS)


def test_rankings_at_matched_ages_do_not_favour_older_posts() -> None:
    raw, matched = [], []
    for seed in range(40):
        posts, series = account(seed)
        m = ages.at_reference_age(posts, series)
        assert m.too_young + m.no_curve == 0 and {p.at_age_hours for p in m.posts} == {24.0}
        recent = [p for p in posts if p.published_at > NOW - timedelta(days=10)]
        age = [(NOW - p.published_at).total_seconds() for p in recent]
        raw.append(stats.spearmanr(age, [p.interactions for p in recent]).statistic)
        at_age = {p.target_id: p.interactions for p in m.posts}
        matched.append(stats.spearmanr(age, [at_age[p.target_id] for p in recent]).statistic)
    assert np.mean(raw) > 0.15  # unmatched: the older the post, the higher it ranks
    assert abs(np.mean(matched)) < 0.1


def test_imported_posts_are_scaled_by_the_measured_growth_curve() -> None:
    gaps = []
    for seed in range(40):
        posts, series = account(seed)
        m = ages.at_reference_age(posts, series)
        scaled = [p.interactions for p in m.posts if p.age_basis.startswith("growth curve")]
        interpolated = [p.interactions for p in m.posts if p.age_basis == "interpolated"]
        assert m.scaled == len(scaled) > 0 and m.interpolated == len(interpolated) > 0
        gaps.append(np.log(np.median(scaled) / np.median(interpolated)))
    assert abs(float(np.mean(gaps))) < 0.03  # imported posts are on the same footing as collected ones
    assert m.describe()["growth_curve"][-1]["high"] == float("inf")


def test_posts_younger_than_the_reference_age_or_without_a_curve_are_left_out() -> None:
    posts, _ = account(1)
    young = [replace(p, fetched_at=p.published_at + timedelta(hours=6)) for p in posts[:3]]
    m = ages.at_reference_age(young, {}, curve=ages.GrowthCurve(24.0, ()))
    assert m.posts == [] and m.too_young == 3
    old = [replace(p, fetched_at=p.published_at + timedelta(hours=400)) for p in posts[:3]]
    m = ages.at_reference_age(old, {}, curve=ages.GrowthCurve(24.0, ()))
    assert m.posts == [] and m.no_curve == 3


def test_snapshots_24_to_36_hours_old_and_the_latest_give_the_same_answer() -> None:
    """What the database loads (ages.load_at_reference: snapshots 24-36 h old, and the latest) is enough."""
    for seed in range(5):
        posts, series = account(seed)
        full = ages.at_reference_age(posts, series)
        short = ages.at_reference_age(
            posts, {t: [r for r in rows if 24 <= r[0] <= 36 or r == max(rows)] for t, rows in series.items()}
        )
        assert [p.interactions for p in short.posts] == pytest.approx(
            [p.interactions for p in full.posts], rel=0.05
        )
        assert short.scaled == full.scaled and short.interpolated == full.interpolated
