"""Best time to post: does the hour of the week measurably change this account's engagement, and if so, when?

Method (see `ocma_core.analytics.besttime_model` and docs/analytics.md):
1. A permutation scan test asks whether engagement is higher in any contiguous window of hours (1 to 6
   hours, every day), any weekday, or weekends, than in the rest, beyond what shuffling the outcomes over the
   posting times produces (family-wise 5% over all windows).
2. An empirical-Bayes model of the log engagement rate by hour, weekday and hour of week, with the spreads
   of those effects estimated from the account's posts, shrinks every slot towards "no difference".
3. Only when the test finds timing matters (basis "measured") are slots reported as better: their lift and
   90% interval (simultaneous over all slots, so the best of them keeps its coverage) come from step 2.
   Otherwise every slot is reported as 1.00x ("timing makes no measurable difference for this account
   yet"), with an interval that still shows how large a difference the data allow.
Peers on the same platform (never the account itself) and the published benchmark never enter the
estimate: when nothing is measured they are shown as a labelled reference ("others' pattern, not measured on this account"), without any lift figure.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ocma_core.analytics import besttime_model as model
from ocma_core.analytics.data import PostObs
from ocma_core.analytics.measures import outcomes
from ocma_core.analytics.published import benchmark_for

MIN_TEST_POSTS = 20
MIN_HOUR_POSTS = 3  # a slot can be named only if its hour of day has at least this many posts
ALPHA = 0.05
LEVEL = 0.90
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
METHOD = (
    "permutation scan test of hour windows and weekdays (family-wise 5%) gating an empirical-Bayes model "
    "of log engagement by hour, weekday and hour of week (spreads estimated by marginal likelihood); "
    "90% intervals simultaneous over all slots"
)
BASES = {
    "measured": "timing measurably changes engagement for this account",
    "no_measured_effect": "timing makes no measurable difference for this account yet",
    "too_few_posts": f"fewer than {MIN_TEST_POSTS} measured posts: nothing can be measured yet",
}


def local_slots(posts: Sequence[PostObs], tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Hour of day and weekday (Mon=0) of each post's publishing time in `tz`."""
    zone = ZoneInfo(tz)
    local = [p.published_at.astimezone(zone) for p in posts]
    return np.array([t.hour for t in local], dtype=int), np.array([t.weekday() for t in local], dtype=int)


@dataclass
class Slot:
    """One hour of the week, what is expected there and how sure that is."""

    weekday: int
    hour: int
    label: str
    lift: float  # expected rate / the account's typical (geometric mean) rate; 1.0 unless measured
    lift_interval: tuple[float, float]  # 90%, simultaneous over the slots
    expected_rate: float | None  # geometric-mean rate expected at this slot (None without own history)
    rate_interval: tuple[float, float] | None
    probability_better: float  # posterior probability the slot beats the typical rate (0.5 unless measured)
    posts_in_slot: int
    posts_same_hour: int
    posts_same_weekday: int


@dataclass
class BestTime:
    """The answer for one account."""

    account_id: str
    platform: str
    timezone: str
    rate_name: str
    n_posts: int
    basis: str  # measured, no_measured_effect or too_few_posts
    timing_effect: dict[str, Any]
    model: dict[str, Any] = field(default_factory=dict)  # estimated spreads
    reference: dict[str, Any] = field(default_factory=dict)  # peers' or published pattern: shown, not used
    top: list[Slot] = field(default_factory=list)
    grid: list[float | None] = field(default_factory=list)  # reported lift per slot (None: hour never used)
    grid_interval: list[tuple[float, float] | None] = field(default_factory=list)
    message: str = ""
    method: str = ""

    @property
    def measured(self) -> bool:
        """Whether the slots are a finding (the timing test rejected 'no difference')."""
        return self.basis == "measured"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**self.__dict__, "top": [asdict(slot) for slot in self.top]}


@dataclass
class _Prepared:
    account_id: str
    platform: str
    kind: str
    name: str
    y: np.ndarray
    hours: np.ndarray
    days: np.ndarray
    centred: np.ndarray = field(init=False)  # y minus its mean: what the account adds to its peers' pool

    def __post_init__(self) -> None:
        self.centred = self.y - self.y.mean() if self.y.size else self.y


def analyze(
    posts_by_account: Mapping[str, Sequence[PostObs]],
    platforms: Mapping[str, str],
    tz: str,
    *,
    top: int = 3,
    account_ids: Sequence[str] | None = None,
    permutations: int = 199,
) -> list[BestTime]:
    """Best times of `account_ids` (default: every account in `platforms`), each from its own posts only."""
    prepared: dict[str, _Prepared] = {}
    for account_id, platform in platforms.items():
        out = outcomes(list(posts_by_account.get(account_id, [])))
        hours, days = local_slots(out.posts, tz)
        prepared[account_id] = _Prepared(account_id, platform, out.kind, out.name, out.y, hours, days)
    results = []
    for a in account_ids or list(platforms):
        me = prepared[a]
        peers = [p for p in prepared.values() if p.platform == me.platform and p.account_id != a]
        results.append(_one(me, partial(_reference, me.platform, peers, permutations), tz, top, permutations))
    return results


def _timing_test(y: np.ndarray, hours: np.ndarray, days: np.ndarray, permutations: int) -> dict[str, Any]:
    method = (
        f"permutation scan test ({permutations} permutations, the first 99 decide unless p <= 0.2) of the "
        "largest standardised excess of a window of 1-6 consecutive hours (every day), a weekday or the "
        "weekend over the rest, in log engagement (one-sided: is some window better than the rest?)"
    )
    if y.size < MIN_TEST_POSTS:
        return {
            "detected": False,
            "p_value": None,
            "statistic": None,
            "method": method,
            "note": f"needs at least {MIN_TEST_POSTS} posts",
        }
    # seeded by the data: reproducible for an account, independent between accounts
    seed = zlib.crc32(np.ascontiguousarray(y).tobytes())
    slots = days * 24 + hours  # a post's windows are those of its hour of the week
    stat, p = model.grouped_scan_test(y, slots, model.slot_windows(), permutations=permutations, seed=seed)
    return {"detected": p < ALPHA, "p_value": p, "statistic": stat, "method": method}


def _reference(platform: str, accounts: Sequence[_Prepared], permutations: int) -> dict[str, Any]:
    """The pattern of the workspace's accounts on this platform together, or the published windows."""
    used = [p for p in accounts if p.y.size >= MIN_TEST_POSTS]
    n = sum(p.y.size for p in used)
    if used:
        y = np.concatenate([p.centred for p in used])
        hours = np.concatenate([p.hours for p in used])
        days = np.concatenate([p.days for p in used])
        test = _timing_test(y, hours, days, permutations)
        described = f"the workspace's {platform} accounts together ({len(used)} accounts, {n} posts)"
        if test["detected"]:
            fitted = model.fit(hours, days, y)
            best = [int(s) for s in np.argsort(-fitted.mean)[:3] if (hours == s % 24).sum() >= MIN_HOUR_POSTS]
            return {
                "kind": "workspace",
                "accounts": len(used),
                "posts": n,
                "detected": True,
                "slots": [_label(s) for s in best],
                "description": f"{described} do best at {', '.join(_label(s) for s in best)}; "
                "their pattern, not measured on this account",
            }
        return {
            "kind": "workspace",
            "accounts": len(used),
            "posts": n,
            "detected": False,
            "slots": [],
            "description": f"{described} show no measurable timing effect either",
        }
    bench = benchmark_for(platform)
    return {
        "kind": "published_benchmark",
        "source": bench.source,
        "windows": bench.describe(),
        "slots": [],
        "description": f"published benchmark ({bench.source}): {bench.describe()}"
        + (f" ({bench.note})" if bench.note else "")
        + "; windows across many brands, not a measurement of this account, and with no size of effect",
    }


def _label(s: int) -> str:
    d, h = s // 24, s % 24
    return f"{DAYS[d]} {h:02d}:00-{(h + 1) % 24:02d}:00"


def _one(
    me: _Prepared, reference: Callable[[], dict[str, Any]], tz: str, top: int, permutations: int
) -> BestTime:
    n = me.y.size
    timing = _timing_test(me.y, me.hours, me.days, permutations)
    basis = (
        "measured" if timing["detected"] else "no_measured_effect" if n >= MIN_TEST_POSTS else "too_few_posts"
    )
    result = BestTime(
        account_id=me.account_id,
        platform=me.platform,
        timezone=tz,
        rate_name=_rate_label(me),
        n_posts=n,
        basis=basis,
        timing_effect=timing,
        reference=reference() if not timing["detected"] else {},
        method=METHOD,
    )
    if n < MIN_TEST_POSTS:
        result.grid = [None] * 168
        result.grid_interval = [None] * 168
        result.message = _message(result)
        return result
    fitted = model.fit(me.hours, me.days, me.y)
    result.model = {
        "noise_sd": fitted.sigma,
        "spread_hour": fitted.tau_hour,
        "spread_weekday": fitted.tau_day,
        "spread_hour_of_week": fitted.tau_slot,
        "note": "spreads of the log effects, estimated from this account's posts (empirical Bayes)",
    }
    hour_posts = np.bincount(me.hours, minlength=24)
    candidates = np.array([s for s in range(168) if hour_posts[s % 24] >= MIN_HOUR_POSTS], dtype=int)
    z = model.simultaneous_z(fitted.cov, candidates, LEVEL, seed=n)
    measured = result.measured
    typical = float(me.y.mean())
    lifts: list[float | None] = [None] * 168
    intervals: list[tuple[float, float] | None] = [None] * 168
    for s in candidates:
        lo, hi = fitted.mean[s] - z * fitted.sd[s], fitted.mean[s] + z * fitted.sd[s]
        if not measured:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        lifts[s] = round(math.exp(fitted.mean[s]), 4) if measured else 1.0
        intervals[s] = (round(math.exp(lo), 4), round(math.exp(hi), 4))
    result.grid, result.grid_interval = lifts, intervals
    order = sorted(candidates, key=lambda s: -fitted.mean[s])[:top]
    result.top = [_slot(me, int(s), fitted, intervals[s], typical, measured) for s in order]
    result.message = _message(result)
    return result


def _slot(
    me: _Prepared,
    s: int,
    fitted: model.Fit,
    interval: tuple[float, float] | None,
    typical: float,
    measured: bool,
) -> Slot:
    d, h = s // 24, s % 24
    lo, hi = interval or (1.0, 1.0)
    log_lift = float(fitted.mean[s]) if measured else 0.0
    centre = typical + log_lift
    shift = 0.0 if me.kind != "post" else 1.0

    def to_rate(v: float) -> float:
        return math.exp(v) - shift

    return Slot(
        weekday=d,
        hour=h,
        label=_label(s),
        lift=math.exp(log_lift),
        lift_interval=(lo, hi),
        expected_rate=to_rate(centre),
        rate_interval=(to_rate(typical + math.log(lo)), to_rate(typical + math.log(hi))),
        probability_better=(
            0.5 * (1 + math.erf(log_lift / (float(fitted.sd[s]) * math.sqrt(2)))) if measured else 0.5
        ),
        posts_in_slot=int(((me.days == d) & (me.hours == h)).sum()),
        posts_same_hour=int((me.hours == h).sum()),
        posts_same_weekday=int((me.days == d).sum()),
    )


def _rate_label(me: _Prepared) -> str:
    if me.kind == "post":
        return "interactions per post (geometric mean)"
    return f"{me.name} (geometric mean)"


def _message(r: BestTime) -> str:
    ref = r.reference.get("description", "")
    if r.basis == "too_few_posts":
        return (
            f"{r.n_posts} measured posts: too few to tell whether timing matters for this account (needs "
            f"{MIN_TEST_POSTS}). Schedule by your preference or the queue's slots. For reference only: {ref}."
        )
    t = r.timing_effect
    if r.basis == "no_measured_effect":
        widest = max((iv[1] for iv in r.grid_interval if iv), default=1.0)
        return (
            f"Timing makes no measurable difference for this account yet ({r.n_posts} posts; permutation "
            f"p={t['p_value']:.2f}); the data still allow up to {widest:.2f}x at some hour, so schedule by "
            f"your preference or the queue's slots. For reference only: {ref}."
        )
    best = r.top[0]
    lo, hi = best.lift_interval
    return (
        f"{best.label} ({r.timezone}): expected {best.lift:.2f}x the account's typical {r.rate_name} "
        f"(90% interval {lo:.2f}-{hi:.2f}x, allowing for it being the best of all hours), from "
        f"{best.posts_in_slot} posts in that hour of the week, {best.posts_same_hour} at that hour and "
        f"{best.posts_same_weekday} on that weekday; {r.n_posts} posts in all. Timing explains engagement "
        f"beyond noise (permutation p={t['p_value']:.3f})."
    )


def next_occurrence(slot: Slot | tuple[int, int], after: datetime, tz: str) -> datetime:
    """The first start of `slot` (or (weekday, hour), local time in `tz`) at or after `after`, in UTC."""
    weekday, hour = slot if isinstance(slot, tuple) else (slot.weekday, slot.hour)
    zone = ZoneInfo(tz)
    local = after.astimezone(zone)
    day0 = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for add in range(0, 8):
        day = day0 + timedelta(days=add)
        if day.weekday() != weekday:
            continue
        candidate = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        if candidate >= local:
            return candidate.astimezone(ZoneInfo("UTC"))
    candidate = datetime(day0.year, day0.month, day0.day, hour, tzinfo=zone) + timedelta(days=7)
    return candidate.astimezone(ZoneInfo("UTC"))
