"""Accounts where every post is equally good and older posts win only by age, for the age-matching tests."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from ocma_core.analytics.ages import Snap
from ocma_core.analytics.data import PostObs
from ocma_core.analytics.vocabulary import map_metrics

NOW = datetime(2026, 6, 1, tzinfo=UTC)
#: collection ages (h) and the share of the final count reached at each (as ocma_core.analytics.synthetic)
SCHEDULE = ((1.0, 0.35), (6.0, 0.65), (24.0, 0.85), (72.0, 0.95), (168.0, 1.0), (720.0, 1.0))
IMPORTED_BEFORE = NOW - timedelta(days=45)  # older posts were imported today: one snapshot, at their age


def _share(age: float) -> float:
    return next((g for a, g in reversed(SCHEDULE) if age >= a), 0.0)


def _matured(snaps: list[Snap]) -> Snap | None:
    """The loader's `matured` choice: newest snapshot 24 h to 8 days old, else the earliest older one."""
    inside = [s for s in snaps if 24 <= s[0] <= 192]
    older = [s for s in snaps if s[0] > 192]
    return max(inside) if inside else min(older) if older else None


def account(
    seed: int, days: int = 90, per_day: int = 2, sd: float = 0.2
) -> tuple[list[PostObs], dict[str, list[Snap]]]:
    """Posts with one true level (interactions per post, log-normal noise) and their snapshot series."""
    rng = np.random.default_rng(seed)
    posts, series = [], {}
    for i in range(days * per_day):
        published = NOW - timedelta(days=days) + timedelta(hours=float(rng.uniform(0, days * 24)))
        final = float(rng.poisson(200 * math.exp(rng.normal(0, sd) - sd**2 / 2)))
        age_now = (NOW - published).total_seconds() / 3600
        if published < IMPORTED_BEFORE:
            snaps: list[Snap] = [(age_now, final, None)]
        else:
            snaps = [(a, float(round(final * g)), None) for a, g in SCHEDULE if a <= age_now]
        pick = _matured(snaps)
        if pick is None:
            continue
        series[f"t{i}"] = snaps
        at = published + timedelta(hours=pick[0])
        mapped = map_metrics({"likes": pick[1]}, ("impressions",))
        total, used = mapped.interactions()
        posts.append(
            PostObs(f"t{i}", f"p{i}", "a", "fakesocial", published, f"s{i}", at, mapped, total, used)
        )
    posts.sort(key=lambda p: p.published_at)
    return posts, series
