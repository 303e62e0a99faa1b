"""Metrics collection: post metrics on a decaying cadence, account and competitor metrics daily, webhooks.

Every published target gets a `MetricSchedule` row; it is due 10 min, 30 min, 1 h, 3 h, 6 h, 12 h, 24 h,
3 d, 7 d and 30 d after publishing (`POST_CADENCE`: often while the post is young), and each collection stores a time-stamped `PostMetricSnapshot`. Connected
accounts (and competitors) are due every 24 h. `collect_due` does at most `limit` due items per call, a few
at a time, with database work off the event loop, so the worker can call it often at low priority.

Rate limits: each call reserves from its own "metrics" budget (per account and per app); a 429
(`RateLimited`) moves the item — and every other item of that account in this round — to the platform's
retry time, never a tight loop; and when a response shows a shared budget less than half full
(`x-ratelimit-remaining` < 50% of the limit), collection for that account pauses until the reset, leaving
the rest for publishing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from ocma_core.analytics.pointers import (
    POST_CADENCE,
    initial_due,
    insert_ignoring_conflicts,
    point_to,
    schedule_fresh_posts,
)
from ocma_core.context import Ocma
from ocma_core.db.analytics_models import Competitor, CompetitorMetricSnapshot, MetricSchedule
from ocma_core.db.models import (
    Account,
    AccountMetricSnapshot,
    AccountStatus,
    PostMetricSnapshot,
    Target,
    TargetStatus,
)
from ocma_core.db.types import utcnow
from ocma_core.engine.budgets import Budgets, MemoryBudgets, observed_limits, platform_buckets
from ocma_core.errors import AuthExpired, OcmaError, PlatformError, RateLimited, Rejected
from ocma_core.events import Event, dispatch
from ocma_core.platforms import (
    AccountContext,
    Capability,
    MetricsSnapshot,
    Platform,
    RateBudget,
    WebhookEvent,
)
from ocma_core.services.metrics_events import account_metrics_changed, post_metrics_changed

log = logging.getLogger(__name__)

ACCOUNT_EVERY = timedelta(hours=24)
RESERVE = 0.5  # collection pauses when a budget it shares is below this share of its limit
MAX_FAILURES = 5
CLAIM_LEASE = timedelta(minutes=10)
CONCURRENCY = 4
_default_budgets = MemoryBudgets()
_paused: dict[str, float] = {}  # account id -> unix time until which its collection waits


@dataclass
class Outcome:
    """What one collection did."""

    stored: int = 0
    deferred_until: datetime | None = None
    error: str | None = None
    note: str = ""
    done: bool = False  # nothing more to collect for this item
    rate_limited: bool = False  # the platform or the budget says: not now


@dataclass
class Round:
    """Counts of one `collect_due` call."""

    stored: int = 0
    deferred: int = 0
    failed: int = 0
    items: int = 0
    errors: list[str] = field(default_factory=list)


def next_post_due(published_at: datetime, after: datetime) -> tuple[int, datetime | None]:
    """The cadence step and time of the next collection strictly after `after`."""
    for step, offset in enumerate(POST_CADENCE):
        if published_at + offset > after:
            return step, published_at + offset
    return len(POST_CADENCE), None


def sync_schedule(ocma: Ocma, now: datetime | None = None) -> int:
    """Add schedule rows for new published targets, connected accounts and competitors; returns how many were new.

    Safe to run from several workers at once: a row another worker added first is skipped (ON CONFLICT).
    """
    from ocma_core.db.types import new_id

    now = now or utcnow()
    since = now - POST_CADENCE[-1] - timedelta(days=1)
    rows: list[dict[str, Any]] = []

    def row(
        kind: str, ref: str, workspace: str, account: str, platform: str, step: int, due: datetime | None
    ) -> None:
        rows.append(
            {
                "id": new_id(),
                "kind": kind,
                "ref_id": ref,
                "workspace_id": workspace,
                "account_id": account,
                "platform": platform,
                "step": step,
                "next_due_at": due,
                "failures": 0,
                "note": "",
            }
        )

    with ocma.session() as session:
        fresh = schedule_fresh_posts(session, now)  # PostgreSQL: the just-published ones, in the database
        # Columns, not ORM objects, and an anti-join on the (kind, ref_id) index: this runs every metrics round
        # over every target published since the last one.
        known = (
            select(MetricSchedule.id)
            .where(col(MetricSchedule.kind) == "post", col(MetricSchedule.ref_id) == col(Target.id))
            .exists()
        )
        targets = session.execute(
            sa_select(
                col(Target.id),
                col(Target.workspace_id),
                col(Target.account_id),
                col(Target.platform),
                col(Target.published_at),
            ).where(
                col(Target.status) == TargetStatus.PUBLISHED,
                col(Target.published_at) >= since,
                col(Target.external_id).is_not(None),
                ~known,
            )
        ).all()
        for target_id, workspace_id, account_id, platform, published_at in targets:
            step, due = initial_due(published_at, now)
            row("post", target_id, workspace_id, account_id, platform, step, due)
        known_accounts = select(MetricSchedule.ref_id).where(col(MetricSchedule.kind) == "account")
        for a in session.exec(
            select(Account).where(
                col(Account.status) == AccountStatus.CONNECTED, col(Account.id).not_in(known_accounts)
            )
        ).all():
            row("account", a.id, a.workspace_id, a.id, a.platform, 0, now)
        known_comp = select(MetricSchedule.ref_id).where(col(MetricSchedule.kind) == "competitor")
        for c in session.exec(select(Competitor).where(col(Competitor.id).not_in(known_comp))).all():
            row("competitor", c.id, c.workspace_id, c.via_account_id, c.platform, 0, now)
        insert_ignoring_conflicts(session, rows)
        return fresh + len(rows)


def _due(ocma: Ocma, now: datetime, limit: int, workspace_id: str | None) -> list[MetricSchedule]:
    """Claim up to `limit` due items: each is pushed `CLAIM_LEASE` ahead in one conditional update, so
    several workers never collect the same item twice, and a worker that dies mid-way only delays it."""
    from sqlalchemy import update

    with ocma.session() as session:
        stmt = (
            select(MetricSchedule)
            .where(col(MetricSchedule.next_due_at).is_not(None), col(MetricSchedule.next_due_at) <= now)
            .order_by(col(MetricSchedule.next_due_at))
            .limit(limit)
        )
        if workspace_id is not None:
            stmt = stmt.where(col(MetricSchedule.workspace_id) == workspace_id)
        rows = list(session.exec(stmt).all())
        claimed = []
        for row in rows:
            result = session.execute(
                update(MetricSchedule)
                .where(col(MetricSchedule.id) == row.id, col(MetricSchedule.next_due_at) == row.next_due_at)
                .values(next_due_at=now + CLAIM_LEASE)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(row)
        for row in rows:
            session.expunge(row)
    return claimed


async def collect_due(
    ocma: Ocma,
    limit: int,
    *,
    budgets: Budgets | None = None,
    workspace_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Collect up to `limit` due items (post, account, competitor metrics); returns snapshots stored."""
    result = await collect_round(ocma, limit, budgets=budgets, workspace_id=workspace_id, now=now)
    return result.stored


async def collect_round(
    ocma: Ocma,
    limit: int,
    *,
    budgets: Budgets | None = None,
    workspace_id: str | None = None,
    now: datetime | None = None,
) -> Round:
    """`collect_due` with the full counts (`now`: the round's time, for tests that drive the clock)."""
    from ocma_core.registry import get_platform

    budgets = budgets or _default_budgets
    now = now or utcnow()
    await asyncio.to_thread(sync_schedule, ocma, now)
    items = await asyncio.to_thread(_due, ocma, now, limit, workspace_id)
    result = Round(items=len(items))
    sem = asyncio.Semaphore(CONCURRENCY)
    by_account: dict[str, list[MetricSchedule]] = {}
    for item in items:
        by_account.setdefault(item.account_id, []).append(item)

    async def run_account(queue: list[MetricSchedule]) -> None:
        # One call at a time per account (low priority), several accounts at once.
        blocked: datetime | None = None
        async with sem:
            for item in queue:
                if blocked is not None:
                    outcome = Outcome(deferred_until=blocked, error="rate limited (same account)")
                else:
                    try:
                        platform = get_platform(item.platform)
                    except OcmaError as exc:
                        outcome = Outcome(error=str(exc), deferred_until=utcnow() + timedelta(hours=6))
                    else:
                        outcome = await _collect_one(ocma, item, platform, budgets)
                    if outcome.rate_limited:
                        blocked = outcome.deferred_until
                await asyncio.to_thread(_record, ocma, item.id, outcome, now)
                result.stored += outcome.stored
                if outcome.error:
                    result.errors.append(f"{item.kind} {item.ref_id}: {outcome.error}")
                    if outcome.deferred_until is not None:
                        result.deferred += 1
                    else:
                        result.failed += 1

    await asyncio.gather(*(run_account(q) for q in by_account.values()))
    return result


async def _collect_one(ocma: Ocma, item: MetricSchedule, platform: Platform, budgets: Budgets) -> Outcome:
    paused = _paused.get(item.account_id, 0.0)
    if paused > time.time():
        return Outcome(
            deferred_until=datetime.fromtimestamp(paused, utcnow().tzinfo),
            error="rate budget kept for publishing",
            rate_limited=True,
        )
    needed = {"post": Capability.POST_METRICS, "account": Capability.ACCOUNT_METRICS}.get(item.kind)
    if needed is not None and needed not in platform.capabilities:
        return Outcome(done=True, note=platform.metrics_unavailable(item.kind))
    keys, declared = platform_buckets(platform, item.account_id, "metrics", lambda b: "metric" in b.bucket)
    wait = await acquire(budgets, keys, declared)
    if wait > 0:
        return Outcome(
            deferred_until=utcnow() + timedelta(seconds=wait),
            error="rate budget spent; later",
            rate_limited=True,
        )
    contexts: list[AccountContext] = []
    blocked_until: float | None = None
    try:
        return await _call(ocma, item, platform, contexts)
    except RateLimited as exc:
        blocked_until = exc.retry_at.timestamp()
        return Outcome(
            deferred_until=exc.retry_at,
            error=f"rate limited until {exc.retry_at.isoformat()}",
            rate_limited=True,
        )
    except AuthExpired as exc:
        return Outcome(deferred_until=utcnow() + timedelta(hours=6), error=f"authorisation: {exc.message}")
    except Rejected as exc:
        return Outcome(error=f"rejected: {exc.message}")
    except (PlatformError, OcmaError) as exc:
        return Outcome(error=str(exc))
    except Exception as exc:  # a plugin bug must not stop collection of everything else
        log.exception("metrics collection failed for %s %s", item.kind, item.ref_id)
        return Outcome(error=f"unexpected: {exc!r}")
    finally:
        observed = _observed(platform, item.account_id, contexts)
        budgets.release(keys, declared, observed, blocked_until)


async def acquire(
    budgets: Budgets, keys: list[str], declared: list[RateBudget | None], *, max_wait_s: float = 2.0
) -> float:
    """Reserve a call, waiting out short waits (one probe in flight); else the seconds to wait (0: reserved)."""
    deadline = time.monotonic() + max_wait_s
    while (wait := budgets.try_acquire(keys, declared)) > 0:
        if time.monotonic() + wait > deadline:
            return wait
        await asyncio.sleep(wait)
    return 0.0


def _observed(platform: Platform, account_id: str, contexts: list[AccountContext]) -> dict[str, Any]:
    found = observed_limits(platform.name, account_id, contexts, "metrics")
    for info in found.values():
        if info.limit and info.remaining is not None and info.remaining < RESERVE * info.limit:
            until = info.reset_at.timestamp() if info.reset_at else time.time() + 60
            _paused[account_id] = max(_paused.get(account_id, 0.0), until)
    return found


async def _call(
    ocma: Ocma, item: MetricSchedule, platform: Platform, contexts: list[AccountContext]
) -> Outcome:
    from ocma_core.engine.refresh import call_with_refresh

    def tracked(fn: Callable[[AccountContext], Any]) -> Callable[[AccountContext], Any]:
        async def inner(ctx: AccountContext) -> Any:
            ctx.settings["_rate_limits"] = []
            contexts.append(ctx)
            return await fn(ctx)

        return inner

    if item.kind == "post":
        external_id = await asyncio.to_thread(_external_id, ocma, item.ref_id)
        if external_id is None:
            return Outcome(done=True, note="the target has no platform id")
        snap: MetricsSnapshot = await call_with_refresh(
            ocma, item.account_id, platform, tracked(lambda ctx: platform.post_metrics(ctx, external_id))
        )
        await asyncio.to_thread(
            store_post_snapshot, ocma, item.ref_id, item.account_id, platform.name, snap, "poll"
        )
    elif item.kind == "account":
        snap = await call_with_refresh(ocma, item.account_id, platform, tracked(platform.account_metrics))
        await asyncio.to_thread(store_account_snapshot, ocma, item.account_id, platform.name, snap)
    else:
        from ocma_core.analytics.competitors import fetch_competitor

        snap = await fetch_competitor(ocma, item.ref_id, platform, tracked)
    return Outcome(stored=1, note=snap.note)


def _external_id(ocma: Ocma, target_id: str) -> str | None:
    with ocma.session() as session:
        target = session.get(Target, target_id)
        return target.external_id if target is not None else None


def _record(ocma: Ocma, schedule_id: str, outcome: Outcome, now: datetime) -> None:
    with ocma.session() as session:
        row = session.get(MetricSchedule, schedule_id)
        if row is None:
            return
        if outcome.stored:
            row.last_collected_at, row.failures, row.last_error, row.note = now, 0, None, outcome.note
            if row.kind == "post":
                target = session.get(Target, row.ref_id)
                published = target.published_at if target is not None else None
                row.step, row.next_due_at = next_post_due(published, now) if published else (0, None)
            else:
                row.next_due_at = now + ACCOUNT_EVERY
        elif outcome.done:
            row.next_due_at, row.note = None, outcome.note
        elif outcome.deferred_until is not None:
            row.next_due_at, row.last_error = outcome.deferred_until, outcome.error
        else:
            row.failures += 1
            row.last_error = outcome.error
            from ocma_core.backoff import METRICS

            # failures counts this one too: retry number failures - 1 (10 min, 20 min, ... at most 12 h)
            row.next_due_at = None if row.failures >= MAX_FAILURES else now + METRICS.delay(row.failures - 1)
        session.add(row)


def store_post_snapshot(
    ocma: Ocma, target_id: str, account_id: str, platform: str, snap: MetricsSnapshot, source: str
) -> str:
    """Store one post snapshot exactly as the platform named its values (and point the analyzers at it)."""
    with ocma.session() as session:
        target = session.get(Target, target_id)
        if target is None:
            raise OcmaError(f"No target {target_id}.")
        row_id, event = _add_post_snapshot(
            session, target, snap.values, snap.unavailable, snap.fetched_at, source
        )
    if event is not None:
        dispatch(event, ocma)
    return row_id


def _add_post_snapshot(
    session: Any, target: Target, values: Any, unavailable: Iterable[str], fetched_at: datetime, source: str
) -> tuple[str, Event | None]:
    row = PostMetricSnapshot(
        target_id=target.id,
        account_id=target.account_id,
        platform=target.platform,
        fetched_at=fetched_at,
        values=dict(values),
        unavailable=list(unavailable),
        source=source,
    )
    session.add(row)
    session.flush()
    point_to(session, target, row.id, fetched_at, utcnow(), row.values)
    event = post_metrics_changed(session, target, row) if source != "backfill" else None
    return row.id, event


def store_account_snapshot(ocma: Ocma, account_id: str, platform: str, snap: MetricsSnapshot) -> str:
    """Store one account snapshot; returns its id."""
    row = AccountMetricSnapshot(
        account_id=account_id,
        platform=platform,
        fetched_at=snap.fetched_at,
        values=dict(snap.values),
        unavailable=list(snap.unavailable),
    )
    with ocma.session() as session:
        session.add(row)
        session.flush()
        row_id, event = row.id, account_metrics_changed(session, row)
    if event is not None:
        dispatch(event, ocma)
    return row_id


def store_competitor_snapshot(
    ocma: Ocma, competitor_id: str, snap: MetricsSnapshot, source: str = "poll"
) -> str:
    """Store one competitor snapshot; returns its id."""
    row = CompetitorMetricSnapshot(
        competitor_id=competitor_id,
        fetched_at=snap.fetched_at,
        values=dict(snap.values),
        unavailable=list(snap.unavailable),
        source=source,
    )
    with ocma.session() as session:
        session.add(row)
        session.flush()
        return row.id


def ingest_webhook(ocma: Ocma, platform: str, events: Iterable[WebhookEvent]) -> int:
    """Store post metrics carried by webhook deliveries (source "webhook"); returns how many.

    A delivery's numbers are the sender's word: each is bounded by the latest figure the platform's API
    confirmed for that post (a polled or backfilled snapshot), and a post the API has not measured yet gets
    none. Account-level figures from webhooks are not stored (the API's account rounds measure those)."""
    stored = 0
    now = utcnow()
    changed: list[Event | None] = []
    with ocma.session() as session:
        for event in events:
            if not event.metrics or not event.external_post_id:
                continue
            targets = session.exec(
                select(Target).where(
                    col(Target.platform) == platform, col(Target.external_id) == event.external_post_id
                )
            ).all()
            for t in targets:
                bounded = _bounded_by_api(session, t, event.metrics)
                if bounded:
                    changed.append(_add_post_snapshot(session, t, bounded, (), now, "webhook")[1])
                    stored += 1
    for change in changed:
        if change is not None:
            dispatch(change, ocma)
    return stored


def _bounded_by_api(session: Any, target: Target, values: Mapping[str, float]) -> dict[str, float]:
    """Each webhook figure capped at the latest API-confirmed one; figures the API never gave are dropped."""
    confirmed = session.exec(
        select(PostMetricSnapshot)
        .where(PostMetricSnapshot.target_id == target.id, col(PostMetricSnapshot.source) != "webhook")
        .order_by(col(PostMetricSnapshot.fetched_at).desc())
        .limit(1)
    ).first()
    if confirmed is None:
        return {}
    api = confirmed.values
    return {
        name: min(float(value), float(api[name]))
        for name, value in values.items()
        if isinstance(api.get(name), int | float)
    }


# Backfill lives in its own module; re-exported here, the collection service's public face.
from ocma_core.analytics.backfill import BackfillReport, backfill  # noqa: E402

__all__ = [
    "POST_CADENCE",
    "BackfillReport",
    "backfill",
    "collect_due",
    "collect_round",
    "ingest_webhook",
    "store_account_snapshot",
    "store_competitor_snapshot",
    "store_post_snapshot",
    "sync_schedule",
]
