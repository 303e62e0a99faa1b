"""Posts compared at the same age: every post's counts as they were `REFERENCE_HOURS` after publishing.

A post's interactions (and impressions) keep growing for days, so a post measured after a week beats one
measured after a day even when nothing else differs. Trends and rankings therefore read each post at one
reference age (24 h):
- its first snapshot 24 to 36 h after publishing (the collector takes one at 24 h), or interpolated between
  snapshots either side of 24 h where those are loaded (A/B units) — the usual case for posts OCMA collected;
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Interval, and_, func, literal, select
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


CURVE_SAMPLE = 400  # posts whose latest snapshot is read for the growth curve beyond the reference window


def load_at_reference(
    ocma: Ocma,
    target_ids: Sequence[str],
    reference: float = REFERENCE_HOURS,
    curve_sample: int = CURVE_SAMPLE,
) -> dict[str, list[Snap]]:
    """The targets' snapshots taken `reference` to 1.5 x `reference` hours after publishing, plus the latest
    snapshot of up to `curve_sample` of them (evenly spread), which carry the growth curve to older ages."""
    ids = list(dict.fromkeys(target_ids))
    step = max(1, -(-len(ids) // curve_sample)) if curve_sample else 0
    sample = ids[::step] if step else []
    out = _series(ocma, ids, lambda chunk: _window(ocma, reference, 1.5 * reference))
    for target_id, rows in _series(ocma, sample, lambda chunk: _latest(chunk)).items():
        out.setdefault(target_id, []).extend(r for r in rows if r not in out.get(target_id, []))
    return out


def interactions_at(
    ocma: Ocma, target_ids: Sequence[str], hours: float = REFERENCE_HOURS
) -> dict[str, float]:
    """Each target's interactions `hours` after publishing: its first snapshot from then to 1.5 x `hours`.

    Targets with no snapshot in that window (too young, or only older snapshots) are left out.
    """
    out: dict[str, float] = {}
    for target_id, rows in load_at_reference(ocma, target_ids, hours, 0).items():
        value = at_age([(a, k, k) for a, k, _ in rows], hours)
        if value is not None:
            out[target_id] = value[0]
    return out


def load_snapshot_series(ocma: Ocma, target_ids: Sequence[str]) -> dict[str, list[Snap]]:
    """(age in hours, interactions, impressions) of every stored snapshot of the targets."""
    return _series(ocma, list(dict.fromkeys(target_ids)), lambda chunk: None)


def _series(
    ocma: Ocma, ids: list[str], condition: Callable[[list[str]], ColumnElement[bool] | None]
) -> dict[str, list[Snap]]:
    from ocma_core.analytics.vocabulary import map_metrics, vocabulary_of
    from ocma_core.db.models import PostMetricSnapshot, Target

    out: dict[str, list[Snap]] = {}
    vocabularies: dict[str, Any] = {}
    size = 900 if ocma.engine.dialect.name == "sqlite" else 10_000  # SQLite's bound-parameter limit
    with ocma.session() as session:
        for i in range(0, len(ids), size):
            chunk = ids[i : i + size]
            extra = condition(chunk)
            rows = session.execute(
                select(
                    col(PostMetricSnapshot.target_id),
                    col(PostMetricSnapshot.fetched_at),
                    col(PostMetricSnapshot.values),
                    col(Target.published_at),
                    col(Target.platform),
                )
                .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
                .where(col(PostMetricSnapshot.target_id).in_(chunk), *([] if extra is None else [extra]))
            ).all()
            for target_id, fetched_at, values, published_at, platform in rows:
                if published_at is None:
                    continue
                if platform not in vocabularies:
                    vocabularies[platform] = vocabulary_of(platform)
                mapped = map_metrics(values or {}, platform_vocabulary=vocabularies[platform])
                total, _ = mapped.interactions()
                age = (fetched_at - published_at).total_seconds() / 3600
                out.setdefault(target_id, []).append((age, float(total), mapped.values.get("impressions")))
    return out


def _window(ocma: Ocma, low: float, high: float) -> ColumnElement[bool]:
    """Snapshot taken `low` to `high` hours after publishing (SQL for the engine's dialect)."""
    from ocma_core.db.models import PostMetricSnapshot, Target

    taken, published = col(PostMetricSnapshot.fetched_at), col(Target.published_at)
    if ocma.engine.dialect.name == "sqlite":
        age = func.julianday(taken) - func.julianday(published)
        return and_(age >= low / 24 - 1e-9, age <= high / 24)
    return and_(
        taken >= published + literal(timedelta(hours=low), Interval()),
        taken <= published + literal(timedelta(hours=high), Interval()),
    )


def _latest(ids: list[str]) -> ColumnElement[bool]:
    """The snapshot each target's schedule row points at as its latest."""
    from ocma_core.db.analytics_models import MetricSchedule
    from ocma_core.db.models import PostMetricSnapshot

    latest = select(col(MetricSchedule.latest_snapshot_id)).where(
        col(MetricSchedule.kind) == "post", col(MetricSchedule.ref_id).in_(ids)
    )
    return col(PostMetricSnapshot.id).in_(latest)
