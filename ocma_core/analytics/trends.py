"""Trends that are real rather than noise: engagement and follower growth over rolling windows.

For each account:
- engagement, this window against the previous one of the same length: Mann-Whitney U on the posts' log
  engagement rates, effect as the Hodges-Lehmann ratio;
- engagement over the longer history: Mann-Kendall trend test with the Theil-Sen slope (% per week), and
  the most likely single change-point (permutation test);
- follower growth: daily net follower change in this window against the previous one (Mann-Whitney), with
  the measured start and end counts and the snapshots they come from.
All p-values of one run are adjusted together (Benjamini-Hochberg): a finding is called significant when its
q-value is at most `FDR`, which bounds the expected share of false alarms among the findings shown.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ocma_core.analytics.data import AccountSeries, PostObs
from ocma_core.analytics.measures import outcomes
from ocma_core.analytics.stats import bh_adjust, change_point, mann_kendall, mann_whitney

FDR = 0.05
MIN_WINDOW_POSTS = 5
MIN_TREND_POSTS = 10
MIN_DAYS = 5


@dataclass
class Finding:
    """One tested change: what, how big, how sure, and from how much data."""

    account_id: str
    platform: str
    measure: str  # e.g. "interactions per impression", "daily follower change"
    test: str  # window, trend, change_point
    direction: str  # up, down, none
    effect: str  # the size in words
    p_value: float
    q_value: float = 1.0
    significant: bool = False
    n: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    method: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _days(posts: Sequence[PostObs], origin: datetime) -> np.ndarray:
    return np.array([(p.published_at - origin).total_seconds() / 86400 for p in posts])


def engagement_findings(
    posts: Sequence[PostObs],
    account_id: str,
    platform: str,
    start: datetime,
    end: datetime,
    history_start: datetime,
) -> list[Finding]:
    """Window comparison, monotonic trend and change-point of one account's engagement."""
    out = outcomes([p for p in posts if history_start <= p.published_at < end])
    findings: list[Finding] = []
    if not out.posts:
        return findings
    times = np.array([p.published_at.timestamp() for p in out.posts])
    length = end - start
    cur = out.y[(times >= start.timestamp()) & (times < end.timestamp())]
    prev = out.y[(times >= (start - length).timestamp()) & (times < start.timestamp())]
    if cur.size >= MIN_WINDOW_POSTS and prev.size >= MIN_WINDOW_POSTS:
        test = mann_whitney(cur, prev)
        ratio = math.exp(test.shift)
        findings.append(
            Finding(
                account_id,
                platform,
                out.name,
                "window",
                _direction(test.shift),
                f"{ratio:.2f}x the previous {length.days} days (Hodges-Lehmann estimate)",
                test.p_value,
                n={"this_window": int(cur.size), "previous_window": int(prev.size)},
                detail={"ratio": ratio},
                method=test.method,
            )
        )
    if out.y.size >= MIN_TREND_POSTS:
        days = _days(out.posts, history_start)
        trend = mann_kendall(days, out.y)
        weekly = math.exp(trend.slope * 7) - 1
        findings.append(
            Finding(
                account_id,
                platform,
                out.name,
                "trend",
                _direction(trend.slope),
                f"{weekly * 100:+.1f}% per week (Theil-Sen)",
                trend.p_value,
                n={"posts": trend.n},
                detail={"percent_per_week": weekly * 100, "since": history_start.isoformat()},
                method=trend.method,
            )
        )
        cp = change_point(out.y, seed=out.y.size)
        if cp is not None:
            when = out.posts[cp.index].published_at
            findings.append(
                Finding(
                    account_id,
                    platform,
                    out.name,
                    "change_point",
                    _direction(cp.after - cp.before),
                    f"level {math.exp(cp.after - cp.before):.2f}x from {when.date().isoformat()}",
                    cp.p_value,
                    n={"before": cp.index, "after": int(out.y.size - cp.index)},
                    detail={"at": when.isoformat(), "ratio": math.exp(cp.after - cp.before)},
                    method=cp.method,
                )
            )
    return findings


def daily_changes(series: AccountSeries, name: str = "followers") -> list[tuple[datetime, float]]:
    """Net change per day between consecutive snapshots (dated at the later one)."""
    points = series.points(name)
    out = []
    for (t0, v0, _), (t1, v1, _) in itertools.pairwise(points):
        days = (t1 - t0).total_seconds() / 86400
        if days >= 0.5:
            out.append((t1, (v1 - v0) / days))
    return out


def follower_findings(series: AccountSeries, start: datetime, end: datetime) -> list[Finding]:
    """Follower growth this window against the previous one."""
    changes = daily_changes(series)
    length = end - start
    cur = np.array([c for t, c in changes if start <= t < end])
    prev = np.array([c for t, c in changes if start - length <= t < start])
    if cur.size < MIN_DAYS or prev.size < MIN_DAYS:
        return []
    test = mann_whitney(cur, prev)
    return [
        Finding(
            series.account_id,
            series.platform,
            "daily follower change",
            "window",
            _direction(test.shift),
            f"{float(np.mean(cur)):+.1f}/day against {float(np.mean(prev)):+.1f}/day before "
            f"(shift {test.shift:+.1f}/day, Hodges-Lehmann)",
            test.p_value,
            n={"this_window_days": int(cur.size), "previous_window_days": int(prev.size)},
            detail={"mean_per_day": float(np.mean(cur)), "previous_mean_per_day": float(np.mean(prev))},
            method=test.method,
        )
    ]


def growth(
    series: AccountSeries, start: datetime, end: datetime, name: str = "followers"
) -> dict[str, Any] | None:
    """Measured change of a metric over [start, end): first and last snapshot in it, with their ids."""
    points = [p for p in series.points(name) if start <= p[0] < end]
    if not points:
        return None
    (t0, v0, id0), (t1, v1, id1) = points[0], points[-1]
    return {
        "metric": name,
        "start": v0,
        "end": v1,
        "change": v1 - v0,
        "from": t0.isoformat(),
        "to": t1.isoformat(),
        "snapshots": [id0, id1],
        "percent": (v1 - v0) / v0 * 100 if v0 else None,
    }


def _direction(value: float) -> str:
    return "up" if value > 0 else "down" if value < 0 else "none"


def adjust(findings: list[Finding], fdr: float = FDR) -> list[Finding]:
    """Fill in q-values (Benjamini-Hochberg over all findings given) and significance."""
    for finding, q in zip(findings, bh_adjust([f.p_value for f in findings]), strict=True):
        finding.q_value = q
        finding.significant = q <= fdr and finding.direction != "none"
    return findings


def analyze(
    posts_by_account: Mapping[str, Sequence[PostObs]],
    series_by_account: Mapping[str, AccountSeries],
    platforms: Mapping[str, str],
    start: datetime,
    end: datetime,
    *,
    history: timedelta = timedelta(days=90),
) -> list[Finding]:
    """Every account's engagement and follower findings, adjusted together."""
    findings: list[Finding] = []
    history_start = min(end - history, start - (end - start))
    for account_id, platform in platforms.items():
        findings += engagement_findings(
            posts_by_account.get(account_id, []), account_id, platform, start, end, history_start
        )
        series = series_by_account.get(account_id)
        if series is not None:
            findings += follower_findings(series, start, end)
    return adjust(findings)
