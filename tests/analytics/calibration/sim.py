"""Simulated accounts with known truth, shared by the calibration tests and benchmarks/analytics_calibration.py."""

from __future__ import annotations

from datetime import datetime

from ocma_core.analytics import best_time
from ocma_core.analytics.data import PostObs
from ocma_core.analytics.synthetic import make_posts

WINDOW = (9, 12)  # the planted window: 09:00-12:00 every day (UTC), engagement x1.5 inside it


def planted_window(when: datetime) -> float:
    """x1.5 inside WINDOW, 1 elsewhere."""
    return 1.5 if WINDOW[0] <= when.hour < WINDOW[1] else 1.0


def best_time_null(seed: int, n: int) -> best_time.BestTime:
    """One account where every hour is equally good (truth: every slot 1.00x)."""
    return best_time.analyze({"a": make_posts(seed, n)}, {"a": "fakesocial"}, "UTC")[0]


def best_time_planted(seed: int, n: int) -> best_time.BestTime:
    """One account with the planted window."""
    posts = make_posts(seed, n, effect=planted_window)
    return best_time.analyze({"a": posts}, {"a": "fakesocial"}, "UTC")[0]


def confident(r: best_time.BestTime) -> bool:
    """A best-time claim: a measured basis or any slot shown with P(better) >= 0.9."""
    return r.measured or any(s.probability_better >= 0.9 for s in r.top)


def covers_truth(r: best_time.BestTime, truth: float = 1.0) -> bool:
    """The reported 90% interval of the top slot covers the true lift."""
    lo, hi = r.top[0].lift_interval
    return lo <= truth <= hi


def found(r: best_time.BestTime) -> bool:
    """The planted window was found: timing measured and the top slot inside the window."""
    return r.measured and WINDOW[0] <= r.top[0].hour < WINDOW[1]


def two_pm(when: datetime) -> float:
    """x2 at 14:00 UTC."""
    return 2.0 if when.hour == 14 else 1.0


def two_pm_peers(count: int = 3, n: int = 200) -> dict[str, list[PostObs]]:
    """Peer accounts whose engagement doubles at 14:00."""
    return {f"peer{i}": make_posts(i, n, account_id=f"peer{i}", effect=two_pm) for i in range(count)}
