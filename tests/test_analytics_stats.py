"""The statistical building blocks, the metric vocabulary and report periods."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import pytest

from ocma_core.analytics import stats
from ocma_core.analytics.periods import parse_period
from ocma_core.analytics.vocabulary import map_metrics
from ocma_core.errors import ValidationFailed


def test_rankdata_gives_ties_their_average_rank() -> None:
    assert stats.rankdata(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_mann_whitney_matches_the_exact_permutation_distribution() -> None:
    x, y = np.array([1.2, 3.4, 2.2, 5.0, 4.1]), np.array([0.3, 1.1, 0.9, 2.0, 1.5, 0.2])
    ranks = stats.rankdata(np.concatenate([x, y]))
    observed = ranks[:5].sum()
    sums = [ranks[list(c)].sum() for c in itertools.combinations(range(11), 5)]
    mean = np.mean(sums)
    exact = np.mean([abs(s - mean) >= abs(observed - mean) - 1e-9 for s in sums])
    result = stats.mann_whitney(x, y)
    assert abs(result.p_value - exact) < 0.02 and result.shift > 0


def test_mann_kendall_and_theil_sen_on_a_clean_line() -> None:
    t = np.arange(30.0)
    trend = stats.mann_kendall(t, 2.0 * t + 1)
    assert trend.p_value < 1e-6 and trend.slope == pytest.approx(2.0)
    assert stats.mann_kendall(t, np.zeros(30)).p_value == 1.0


def test_change_point_finds_a_level_shift() -> None:
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(0, 1, 40), rng.normal(2, 1, 40)])
    cp = stats.change_point(y)
    assert cp is not None and 35 <= cp.index <= 45 and cp.p_value < 0.01 and cp.after > cp.before


def test_benjamini_hochberg_adjustment() -> None:
    q = stats.bh_adjust([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])  # p*m/rank, then running minimum from the top


def test_student_t_tail() -> None:
    assert stats.t_sf(2.776, 4) == pytest.approx(0.025, abs=2e-4)
    assert stats.t_sf(12.706, 1) == pytest.approx(0.025, abs=2e-4)
    assert stats.t_sf(0.0, 7) == pytest.approx(0.5)


def test_rate_test_and_exposure_needed() -> None:
    same = stats.rate_test(100, 10_000, 100, 10_000)
    assert same.p_value == pytest.approx(1.0)
    assert stats.rate_test(300, 10_000, 200, 10_000).p_value < 0.001
    assert stats.rate_test(300, 10_000, 200, 10_000, dispersion=20, df=4).p_value > 0.05
    need = stats.exposure_needed(0.02, 0.2, alpha=0.05)
    assert 20_000 < need < 30_000  # (1.96 + 0.84)^2 * (0.02 + 0.024) / 0.004^2 = 21,600


def test_vocabulary_maps_platform_names_and_keeps_what_is_not_provided() -> None:
    x = map_metrics(
        {
            "like_count": 3,
            "retweet_count": 2,
            "reply_count": 1,
            "quote_count": 0,
            "bookmark_count": 4,
            "impression_count": 900,
            "non_public_metrics.impression_count": 950,
        },
        ["non_public_metrics", "organic_metrics"],
    )
    assert x.values["impressions"] == 900 and x.source_names["reposts"] == "retweet_count"
    assert x.interactions() == (10.0, ("likes", "reposts", "replies", "quotes", "saves"))
    bsky = map_metrics({"likeCount": 5, "repostCount": 1}, ["impressions", "views", "clicks"])
    assert (
        "impressions" in bsky.not_provided and "clicks" in bsky.not_provided and "reach" in bsky.not_reported
    )
    assert "impressions" not in bsky.values
    account = map_metrics({"statuses_count": 10, "followers_count": 99}, kind="account")
    assert account.values == {"posts": 10.0, "followers": 99.0}
    plugin = map_metrics({"hearts": 7}, platform_vocabulary={"hearts": "likes"})
    assert plugin.values == {"likes": 7.0}


def test_periods_in_the_workspace_timezone() -> None:
    now = datetime(2026, 3, 18, 12, tzinfo=UTC)  # a Wednesday
    week = parse_period("last-week", "Europe/Berlin", now)
    assert week.start == datetime(2026, 3, 8, 23, tzinfo=UTC) and (week.end - week.start).days == 7
    month = parse_period("last-month", "UTC", now)
    assert month.start == datetime(2026, 2, 1, tzinfo=UTC) and month.end == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_period("2026-W10", "UTC").start == datetime(2026, 3, 2, tzinfo=UTC)
    assert (
        parse_period("last-30-days", "UTC", now).end - parse_period("last-30-days", "UTC", now).start
    ).days == 30
    assert parse_period("2026-01-01..2026-01-15", "UTC").previous().start == datetime(
        2025, 12, 18, tzinfo=UTC
    )
    with pytest.raises(ValidationFailed):
        parse_period("yesterday-ish", "UTC")
