"""Import an account's past posts and their current metrics, so analysis is not empty on day one.

Pages through `Platform.list_past_posts` (oldest posts the platform serves since `since`), creates one
published post and target per post not known yet (matched on the platform's id, so a re-run or a resumed run
never duplicates), and stores each post's current metrics once (source "import", dated when fetched, so the
analyses know its age and compare it through the growth curve: ocma_core.analytics.ages). A 429 waits for
the platform's retry time (the same rate budgets as publishing); a longer wait stops the run, which resumes
where it stopped when run again (posts with an import snapshot are skipped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostMetricSnapshot, PostStatus, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError, RateLimited
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


async def _patient(call: Callable[[], Any], max_wait_s: float) -> Any:
    while True:
        try:
            return await call()
        except RateLimited as exc:
            wait = (exc.retry_at - utcnow()).total_seconds()
            if wait > max_wait_s:
                raise
            await asyncio.sleep(max(wait, 0.05))


async def import_history(
    ocma: Ocma,
    account_id: str,
    since: datetime | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    max_wait_s: float = 900.0,
) -> ImportReport:
    """Import the account's past posts since `since` with their current metrics (see module doc)."""
    from ocma_core.engine.refresh import call_with_refresh
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

        found = await _patient(lambda: call_with_refresh(ocma, account_id, platform, page), max_wait_s)
        for past in found.posts:
            report.listed += 1
            target_id, created, done = await asyncio.to_thread(_target_for, ocma, account, past)
            report.created += created
            if not done:

                async def metrics(ctx: AccountContext, e: str = past.external_id) -> Any:
                    return await platform.post_metrics(ctx, e)

                snap = await _patient(
                    lambda: call_with_refresh(ocma, account_id, platform, metrics), max_wait_s
                )
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
