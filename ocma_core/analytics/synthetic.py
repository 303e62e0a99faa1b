"""Synthetic histories with known structure, for the analyzers' tests and the benchmark (never shown as data).

Each generator plants (or does not plant) an effect — a best hour, a trend, a winning variant — in
Poisson-distributed interactions over log-normal per-post noise, so tests can check the analyzers find
what was planted and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from ocma_core.analytics.data import PostObs
from ocma_core.analytics.vocabulary import map_metrics

Effect = Callable[[datetime], float]


def no_effect(when: datetime) -> float:
    """A multiplier of 1 everywhere."""
    return 1.0


def make_posts(
    seed: int,
    n: int,
    *,
    account_id: str = "acct",
    platform: str = "fakesocial",
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
    days: int = 180,
    base_rate: float = 0.02,
    impressions: float = 2000.0,
    noise_sd: float = 0.5,
    effect: Effect = no_effect,
    hours: tuple[int, int] = (7, 22),
    with_impressions: bool = True,
    followers: float | None = None,
) -> list[PostObs]:
    """`n` posts at random times (UTC hours in [hours[0], hours[1])) with the engagement `effect(when)`."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        day = int(rng.integers(0, days))
        hour = int(rng.integers(hours[0], hours[1]))
        when = start + timedelta(days=day, hours=hour, minutes=int(rng.integers(0, 60)))
        shown = float(rng.poisson(impressions))
        rate = base_rate * effect(when) * math.exp(rng.normal(0, noise_sd) - noise_sd**2 / 2)
        likes = float(rng.poisson(max(shown * rate, 0.0)))
        values = {"likes": likes}
        if with_impressions:
            values["impressions"] = shown
        mapped = map_metrics(values, () if with_impressions else ("impressions",))
        total, used = mapped.interactions()
        out.append(PostObs(
            target_id=f"{account_id}-t{i}", post_id=f"{account_id}-p{i}", account_id=account_id, platform=platform,
            published_at=when, snapshot_id=f"{account_id}-s{i}", fetched_at=when + timedelta(days=7),
            metrics=mapped, interactions=total, interactions_counted=used, followers=followers,
            followers_source="synthetic" if followers else None,
        ))
    out.sort(key=lambda p: p.published_at)
    return out
