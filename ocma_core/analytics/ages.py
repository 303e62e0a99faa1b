"""Posts compared at the same age: every post's counts as they were `REFERENCE_HOURS` after publishing.

A post's interactions (and impressions) keep growing for days, so a post measured after a week beats one
measured after a day even when nothing else differs. Trends and rankings therefore read each post at one
reference age (24 h):
- interpolated between the post's own snapshots either side of 24 h (the first one after it alone when it
  is at most 36 h old) — the usual case for posts OCMA collected;
- otherwise (only older snapshots, e.g. an imported or back-filled post) its earliest snapshot scaled by the
  growth curve: the median ratio of the 24 h count to the count at that age, measured on the same posts'
  own snapshot series (posts with both), per age band; each scaled post names the band and how many posts
  the ratio comes from;
- with neither (younger than 24 h, or no curve measured yet for that age) the post is left out and counted.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Interval, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from ocma_core.analytics.ab import at_age
from ocma_core.analytics.data import PostObs
from ocma_core.context import Ocma

REFERENCE_HOURS = 24.0
#: upper edges (hours) of the age bands a growth ratio is measured in, beyond 1.5 x the reference age
BANDS = (72.0, 168.0, math.inf)
MIN_CURVE_POSTS = 5

Snap = tuple[float, float, float | None]  # (age in hours, interactions, impressions or None)


@dataclass(frozen=True)
class Band:
    """Median count(reference age) / count(age) over posts with snapshots at both, for ages in (low, high]."""

    low: float
    high: float
    interactions: float
    impressions: float | None
    posts: int


@dataclass(frozen=True)
class GrowthCurve:
    """The measured growth ratios by age band."""

    reference: float
    bands: tuple[Band, ...]

    def band(self, age: float) -> Band | None:
        """The band measured for `age` (None when too few posts have it)."""
        lows = [b.low for b in self.bands]
        i = bisect.bisect_left(lows, age) - 1
        found = self.bands[i] if i >= 0 else None
        return found if found and found.low < age <= found.high else None


def _pairs(rows: Sequence[Snap], reference: float) -> list[tuple[float, float, float | None]]:
    """(age, count(reference) / count(age), same for impressions) for each snapshot past 1.5 x reference."""
    base = at_age([(a, k, k) for a, k, _ in rows], reference)
    shown_base = at_age([(a, s, s) for a, _, s in rows if s], reference)
    if base is None or base[0] <= 0:
        return []
    out = []
    for age, k, shown in set(rows):
        if age > 1.5 * reference and k > 0:
            ratio = shown_base[0] / shown if shown and shown_base and shown_base[0] > 0 else None
            out.append((age, base[0] / k, ratio))
    return out


def growth_curve(
    series: Mapping[str, Sequence[Snap]], reference: float = REFERENCE_HOURS, posts: Sequence[PostObs] = ()
) -> GrowthCurve:
    """Growth ratios from targets whose snapshots (their series plus the post's chosen one) cover both ages."""
    edges = (1.5 * reference, *BANDS)
    chosen = {p.target_id: (p.age_hours, p.interactions, p.impressions) for p in posts}
    found: dict[int, tuple[list[float], list[float]]] = {}
    for target_id, rows in series.items():
        extra = [chosen[target_id]] if target_id in chosen else []
        for age, ratio, shown_ratio in _pairs([*rows, *extra], reference):
            i = bisect.bisect_left(edges, age) - 1
            ratios, shown_ratios = found.setdefault(i, ([], []))
            ratios.append(ratio)
            if shown_ratio is not None:
                shown_ratios.append(shown_ratio)
    bands = []
    for i, (ratios, shown_ratios) in sorted(found.items()):
        if len(ratios) >= MIN_CURVE_POSTS:
            shown_ratio = statistics.median(shown_ratios) if len(shown_ratios) >= MIN_CURVE_POSTS else None
            bands.append(Band(edges[i], edges[i + 1], statistics.median(ratios), shown_ratio, len(ratios)))
    return GrowthCurve(reference, tuple(bands))


@dataclass
class Matched:
    """Posts at the reference age, and what could not be matched."""

    posts: list[PostObs]
    interpolated: int
    scaled: int
    too_young: int
    no_curve: int
    curve: GrowthCurve

    def describe(self) -> dict[str, Any]:
        """JSON-ready account of the matching."""
        return {
            "compared_at_hours": self.curve.reference,
            "interpolated": self.interpolated,
            "scaled_by_growth_curve": self.scaled,
            "left_out_too_young": self.too_young,
            "left_out_no_growth_curve": self.no_curve,
            "growth_curve": [b.__dict__ for b in self.curve.bands],
            "method": " ".join((__doc__ or "").split()),
        }


def _moved(p: PostObs, k: float, shown: float | None, reference: float, basis: str) -> PostObs:
    out = replace(p, interactions=k, at_age_hours=reference, age_basis=basis)
    if p.impressions is not None:
        out.impressions = shown if shown and shown > 0 else None
    return out


def at_reference_age(
    posts: Sequence[PostObs],
    series: Mapping[str, Sequence[Snap]],
    reference: float = REFERENCE_HOURS,
    curve: GrowthCurve | None = None,
) -> Matched:
    """Every post's interactions and impressions at `reference` hours after publishing (see module doc)."""
    curve = curve or growth_curve(series, reference, posts)
    out: list[PostObs] = []
    counts = {"interpolated": 0, "scaled": 0, "too_young": 0, "no_curve": 0}
    for p in posts:
        rows = [*series.get(p.target_id, ()), (p.age_hours, p.interactions, p.impressions)]
        value = at_age([(a, k, k) for a, k, _ in rows], reference)
        if value is not None:
            shown = at_age([(a, s, s) for a, _, s in rows if s], reference)
            out.append(_moved(p, value[0], shown[0] if shown else None, reference, "interpolated"))
            counts["interpolated"] += 1
            continue
        age, k, shown_now = min(rows)
        band = curve.band(age) if age > reference else None
        if age <= reference:
            counts["too_young"] += 1
        elif band is None or (shown_now and band.impressions is None):
            counts["no_curve"] += 1
        else:
            shown_at = shown_now * band.impressions if shown_now and band.impressions else None
            basis = f"growth curve {band.low:g}-{band.high:g} h ({band.posts} posts)"
            out.append(_moved(p, k * band.interactions, shown_at, reference, basis))
            counts["scaled"] += 1
    return Matched(
        out, counts["interpolated"], counts["scaled"], counts["too_young"], counts["no_curve"], curve
    )


def interactions_at(
    ocma: Ocma, target_ids: Sequence[str], hours: float = REFERENCE_HOURS
) -> dict[str, float]:
    """Each target's interactions `hours` after publishing, interpolated between its own snapshots.

    Targets whose snapshots do not reach that age (too young, or only much older snapshots) are left out.
    """
    out: dict[str, float] = {}
    for target_id, rows in load_snapshot_series(ocma, target_ids, 1.5 * hours).items():
        value = at_age([(a, k, k) for a, k, _ in rows], hours)
        if value is not None:
            out[target_id] = value[0]
    return out


def load_snapshot_series(
    ocma: Ocma, target_ids: Sequence[str], max_age_hours: float | None = None
) -> dict[str, list[Snap]]:
    """(age in hours, interactions, impressions) of the targets' snapshots.

    With `max_age_hours`, only those taken at most that long after publishing, plus each target's latest
    snapshot (its schedule row's pointer), which carries the growth curve to older ages.
    """
    from ocma_core.analytics.vocabulary import map_metrics, vocabulary_of
    from ocma_core.db.models import PostMetricSnapshot, Target

    out: dict[str, list[Snap]] = {}
    ids = list(dict.fromkeys(target_ids))
    with ocma.session() as session:
        for i in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            rows = session.execute(
                select(
                    col(PostMetricSnapshot.target_id),
                    col(PostMetricSnapshot.fetched_at),
                    col(PostMetricSnapshot.values),
                    col(Target.published_at),
                    col(Target.platform),
                )
                .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
                .where(
                    col(PostMetricSnapshot.target_id).in_(ids[i : i + 900]),
                    *_bound(ocma, max_age_hours, ids[i : i + 900]),
                )
            ).all()
            for target_id, fetched_at, values, published_at, platform in rows:
                if published_at is None:
                    continue
                mapped = map_metrics(values or {}, platform_vocabulary=vocabulary_of(platform))
                total, _ = mapped.interactions()
                age = (fetched_at - published_at).total_seconds() / 3600
                out.setdefault(target_id, []).append((age, float(total), mapped.values.get("impressions")))
    return out


def _bound(ocma: Ocma, hours: float | None, ids: Sequence[str]) -> list[ColumnElement[bool]]:
    """Snapshots taken at most `hours` after publishing, or the latest one (SQL for the engine's dialect)."""
    from ocma_core.db.analytics_models import MetricSchedule
    from ocma_core.db.models import PostMetricSnapshot, Target

    if hours is None:
        return []
    taken, published = col(PostMetricSnapshot.fetched_at), col(Target.published_at)
    if ocma.engine.dialect.name == "sqlite":
        young = func.julianday(taken) - func.julianday(published) <= hours / 24
    else:
        young = taken <= published + literal(timedelta(hours=hours), Interval())
    latest = select(col(MetricSchedule.latest_snapshot_id)).where(
        col(MetricSchedule.kind) == "post", col(MetricSchedule.ref_id).in_(ids)
    )
    return [or_(young, col(PostMetricSnapshot.id).in_(latest))]
