"""Import an account's past posts and their current metrics, so analysis is not empty on day one.

Pages through `Platform.list_past_posts` (oldest posts the platform serves since `since`), creates one
published post and target per post not known yet (matched on the platform's id, so a re-run or a resumed run
never duplicates), and stores each post's current metrics once (source "import", dated when fetched, so the
analyses know its age and compare it through the growth curve: ocma_core.analytics.ages). Every call goes
through the metrics collector's budgets (`ocma_core.services.metrics`): it reserves from the "metrics"
budget, waits while the account's shared budget is kept for publishing, and waits out a 429's retry time;
a wait longer than `max_wait_s` stops the run, which resumes where it stopped when run again (posts that
already have an import snapshot are skipped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostMetricSnapshot, PostStatus, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError, RateLimited, Rejected
from ocma_core.platforms import AccountContext, PastPost, Platform

SOURCE = "import"


@dataclass
class ImportReport:
    """What an import did."""

    listed: int = 0
    created: int = 0
    metrics_stored: int = 0
    skipped: list[str] = field(default_factory=list)


def _target_for(ocma: Ocma, account: Account, past: PastPost) -> tuple[str, bool, bool]:
    """(target id, created now, already has an import snapshot) for a past post."""
    with ocma.session() as session:
        found = session.exec(
            select(Target).where(
                col(Target.account_id) == account.id, col(Target.external_id) == past.external_id
            )
        ).first()
        if found is not None:
            done = session.exec(
                select(PostMetricSnapshot.id).where(
                    col(PostMetricSnapshot.target_id) == found.id, col(PostMetricSnapshot.source) == SOURCE
                )
            ).first()
            return found.id, False, done is not None
        post = Post(workspace_id=account.workspace_id, body=past.text, status=PostStatus.PUBLISHED)
        post.options = {"imported": True}
        target = Target(
            post_id=post.id,
            workspace_id=account.workspace_id,
            account_id=account.id,
            platform=account.platform,
            status=TargetStatus.PUBLISHED,
            external_id=past.external_id,
            url=past.url,
            published_at=past.published_at,
            origin={"imported": True},
        )
        session.add(post)
        session.add(target)
        session.commit()
        return target.id, True, False


async def _budgeted(
    ocma: Ocma,
    platform: Platform,
    account_id: str,
    fn: Callable[[AccountContext], Awaitable[Any]],
    max_wait_s: float,
) -> Any:
    """One call within the metrics collector's budgets: its reservations, its pauses, 429 retry times."""
    from ocma_core.engine.budgets import platform_buckets
    from ocma_core.engine.refresh import call_with_refresh
    from ocma_core.services import metrics as collector

    deadline = time.monotonic() + max_wait_s
    keys, declared = platform_buckets(platform, account_id, "metrics", lambda b: "metric" in b.bucket)
    while True:
        wait = max(collector._paused.get(account_id, 0.0) - time.time(), 0.0)  # budget kept for publishing
        if not wait:
            wait = await collector.acquire(collector._default_budgets, keys, declared)
        if wait:
            if time.monotonic() + wait > deadline:
                raise RateLimited(f"the rate budget frees up in {wait:.0f} s", retry_at=_at(wait))
            await asyncio.sleep(wait)
            continue
        contexts: list[AccountContext] = []
        blocked: float | None = None

        async def tracked(ctx: AccountContext, seen: list[AccountContext] = contexts) -> Any:
            ctx.settings["_rate_limits"] = []
            seen.append(ctx)
            return await fn(ctx)

        try:
            return await call_with_refresh(ocma, account_id, platform, tracked)
        except RateLimited as exc:
            blocked = exc.retry_at.timestamp()
            if blocked - time.time() > deadline - time.monotonic():
                raise
        finally:
            observed = collector._observed(platform, account_id, contexts)
            collector._default_budgets.release(keys, declared, observed, blocked)


def _at(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


async def import_history(
    ocma: Ocma,
    account_id: str,
    since: datetime | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    max_wait_s: float = 900.0,
) -> ImportReport:
    """Import the account's past posts since `since` with their current metrics (see module doc)."""
    from ocma_core.registry import get_platform
    from ocma_core.services.metrics import store_post_snapshot, sync_schedule

    with ocma.session() as session:
        account = session.get(Account, account_id)
    if account is None:
        raise NotFoundError(f"No account {account_id}.")
    platform: Platform = get_platform(account.platform)
    report = ImportReport()
    cursor: str | None = None
    while True:

        async def page(ctx: AccountContext, c: str | None = cursor) -> Any:
            return await platform.list_past_posts(ctx, since, c)

        found = await _budgeted(ocma, platform, account_id, page, max_wait_s)
        for past in found.posts:
            report.listed += 1
            target_id, created, done = await asyncio.to_thread(_target_for, ocma, account, past)
            report.created += created
            if not done:

                async def metrics(ctx: AccountContext, e: str = past.external_id) -> Any:
                    return await platform.post_metrics(ctx, e)

                try:
                    snap = await _budgeted(ocma, platform, account_id, metrics, max_wait_s)
                except Rejected as exc:  # this post's metrics are refused (deleted, private): go on
                    report.skipped.append(f"{past.external_id}: {exc.message}")
                else:
                    await asyncio.to_thread(
                        store_post_snapshot, ocma, target_id, account_id, account.platform, snap, SOURCE
                    )
                    report.metrics_stored += 1
            if progress is not None:
                progress(report.listed)
        cursor = found.cursor
        if not cursor:
            break
    await asyncio.to_thread(sync_schedule, ocma)
    return report
