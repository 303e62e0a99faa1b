"""Synthetic histories with known structure, for the analyzers' tests and the benchmark (never shown as data).

Each generator plants (or does not plant) an effect — a best hour, a trend, a winning variant — in
Poisson-distributed interactions over log-normal per-post noise, so tests can check the analyzers find
what was planted and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

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
        out.append(
            PostObs(
                target_id=f"{account_id}-t{i}",
                post_id=f"{account_id}-p{i}",
                account_id=account_id,
                platform=platform,
                published_at=when,
                snapshot_id=f"{account_id}-s{i}",
                fetched_at=when + timedelta(days=7),
                metrics=mapped,
                interactions=total,
                interactions_counted=used,
                followers=followers,
                followers_source="synthetic" if followers else None,
            )
        )
    out.sort(key=lambda p: p.published_at)
    return out


#: when seeded snapshots are taken (a subset of the collector's POST_CADENCE steps, so seeded data sets
#: stay the same when the collector reads young posts more often)
SEED_CADENCE = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=30),
)
#: share of a post's final counts reached at each seeded step (1 h, 6 h, 24 h, 3 d, 7 d, 30 d)
GROWTH = (0.35, 0.65, 0.85, 0.95, 1.0, 1.0)


def seed(
    ocma: Any,
    workspace_id: str,
    account_id: str,
    posts: list[PostObs],
    *,
    steps: int = 1,
    followers: list[tuple[datetime, float]] = (),  # type: ignore[assignment]
    now: datetime | None = None,
    with_pointers: bool = True,
) -> int:
    """Write synthetic posts as Post, published Target and PostMetricSnapshot rows (and account snapshots).

    Each post gets up to `steps` snapshots at the collection cadence (never in the future of `now`), the
    counts growing along `GROWTH`; returns the number of post snapshots written. With `with_pointers` the
    posts' MetricSchedule rows are written as the collector would have left them.
    """
    from sqlalchemy import insert

    from ocma_core.analytics.pointers import initial_due, pointers_for
    from ocma_core.db.analytics_models import MetricSchedule
    from ocma_core.db.models import (
        AccountMetricSnapshot,
        Post,
        PostMetricSnapshot,
        PostStatus,
        Target,
        TargetStatus,
    )
    from ocma_core.db.types import new_id, utcnow

    now = now or utcnow()
    post_rows: list[dict[str, Any]] = []
    target_rows: list[dict[str, Any]] = []
    snap_rows: list[dict[str, Any]] = []
    schedule_rows: list[dict[str, Any]] = []
    for p in posts:
        post_id, target_id = new_id(), new_id()
        p.post_id, p.target_id = post_id, target_id
        post_rows.append(
            {
                "id": post_id,
                "workspace_id": workspace_id,
                "body": p.text,
                "media_ids": [],
                "variants": {},
                "thread": [],
                "options": dict(p.options),
                "status": PostStatus.PUBLISHED,
                "timezone": "UTC",
                "created_by": "synthetic",
                "created_at": p.published_at,
                "updated_at": p.published_at,
                "scheduled_at": p.published_at,
            }
        )
        target_rows.append(
            {
                "id": target_id,
                "post_id": post_id,
                "workspace_id": workspace_id,
                "account_id": account_id,
                "platform": p.platform,
                "status": TargetStatus.PUBLISHED,
                "due_at": p.published_at,
                "attempts": 1,
                "external_id": f"x{target_id[:12]}",
                "published_at": p.published_at,
                "updated_at": p.published_at,
            }
        )
        raw = {p.metrics.source_names[k]: v for k, v in p.metrics.values.items()}
        first = len(snap_rows)
        for step in range(steps):
            when = p.published_at + SEED_CADENCE[step]
            if when > now:
                break
            frac = GROWTH[step]
            values = {k: round(v * frac) for k, v in raw.items()}
            snap_rows.append(
                {
                    "id": new_id(),
                    "target_id": target_id,
                    "account_id": account_id,
                    "platform": p.platform,
                    "fetched_at": when,
                    "values": values,
                    "unavailable": list(p.metrics.not_provided),
                    "source": "synthetic",
                }
            )
        if with_pointers:  # what services.metrics.store_post_snapshot keeps for collected posts
            step, due = initial_due(p.published_at, now)
            pointers = pointers_for(
                p.published_at, [(r["id"], r["fetched_at"], r["values"]) for r in snap_rows[first:]]
            )
            schedule_rows.append(
                {
                    "id": new_id(),
                    "kind": "post",
                    "ref_id": target_id,
                    "workspace_id": workspace_id,
                    "account_id": account_id,
                    "platform": p.platform,
                    "step": step,
                    "next_due_at": due,
                    "failures": 0,
                    "note": "",
                    **pointers,
                }
            )
    account_rows = [
        {
            "id": new_id(),
            "account_id": account_id,
            "platform": posts[0].platform if posts else "fakesocial",
            "fetched_at": when,
            "values": {"followers": value},
            "unavailable": [],
        }
        for when, value in followers
    ]
    with ocma.session() as session:
        for table, rows in (
            (Post, post_rows),
            (Target, target_rows),
            (PostMetricSnapshot, snap_rows),
            (AccountMetricSnapshot, account_rows),
            (MetricSchedule, schedule_rows),
        ):
            for i in range(0, len(rows), 5000):
                if rows[i : i + 5000]:
                    session.execute(insert(table), rows[i : i + 5000])
    return len(snap_rows)
