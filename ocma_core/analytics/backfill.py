"""Backfill: fetch what the platforms still serve for posts published since a date, with progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.errors import OcmaError, PlatformError, RateLimited, Rejected
from ocma_core.platforms import AccountContext, Capability, MetricsSnapshot, Platform


def _post_call(platform: Platform, external_id: str) -> Callable[[AccountContext], Any]:
    async def call(ctx: AccountContext) -> MetricsSnapshot:
        return await platform.post_metrics(ctx, external_id)

    return call


@dataclass
class BackfillReport:
    """What a backfill did."""

    targets: int = 0
    posts_stored: int = 0
    accounts_stored: int = 0
    skipped: list[str] = field(default_factory=list)


async def backfill(
    ocma: Ocma,
    workspace_id: str,
    since: datetime,
    *,
    account_ids: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_wait_s: float = 900.0,
) -> BackfillReport:
    """Fetch what the platforms still serve for every target published since `since` and each account, once.

    Platforms serve current lifetime totals, so each old post gets one snapshot (source "backfill") dated
    when it was fetched. A 429 waits for the platform's retry time (up to `max_wait_s` per wait).
    """
    from ocma_core.engine.refresh import call_with_refresh
    from ocma_core.registry import get_platform
    from ocma_core.services.metrics import store_account_snapshot, store_post_snapshot, sync_schedule

    def load() -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str]]]:
        with ocma.session() as session:
            stmt = select(Target.id, Target.account_id, Target.platform, Target.external_id).where(
                col(Target.workspace_id) == workspace_id,
                col(Target.status) == TargetStatus.PUBLISHED,
                col(Target.published_at) >= since,
                col(Target.external_id).is_not(None),
            )
            astmt = select(Account.id, Account.platform).where(
                col(Account.workspace_id) == workspace_id, col(Account.status) == AccountStatus.CONNECTED
            )
            if account_ids:
                stmt = stmt.where(col(Target.account_id).in_(account_ids))
                astmt = astmt.where(col(Account.id).in_(account_ids))
            return [tuple(r) for r in session.exec(stmt).all()], [tuple(r) for r in session.exec(astmt).all()]  # type: ignore[misc]

    targets, accounts = await asyncio.to_thread(load)
    report = BackfillReport(targets=len(targets))
    total = len(targets) + len(accounts)
    jobs: list[tuple[str, str, str, str | None]] = [("account", a, p, None) for a, p in accounts]
    jobs += [("post", t, p, e) for t, _a, p, e in targets]
    owner = {t: a for t, a, _p, _e in targets}
    for done, (kind, ref, platform_name, external_id) in enumerate(jobs, start=1):
        account_id = ref if kind == "account" else owner[ref]
        try:
            platform = get_platform(platform_name)
            needed = Capability.POST_METRICS if kind == "post" else Capability.ACCOUNT_METRICS
            if needed not in platform.capabilities:
                raise Rejected(platform.metrics_unavailable(kind))
            while True:
                try:
                    if kind == "post":
                        snap = await call_with_refresh(
                            ocma, account_id, platform, _post_call(platform, external_id or "")
                        )
                        await asyncio.to_thread(
                            store_post_snapshot, ocma, ref, account_id, platform_name, snap, "backfill"
                        )
                        report.posts_stored += 1
                    else:
                        snap = await call_with_refresh(ocma, account_id, platform, platform.account_metrics)
                        await asyncio.to_thread(store_account_snapshot, ocma, account_id, platform_name, snap)
                        report.accounts_stored += 1
                    break
                except RateLimited as exc:
                    wait = (exc.retry_at - utcnow()).total_seconds()
                    if wait > max_wait_s:
                        raise
                    await asyncio.sleep(max(wait, 0.05))
        except (PlatformError, OcmaError) as exc:
            report.skipped.append(f"{kind} {ref}: {exc}")
        if progress is not None:
            progress(done, total)
    await asyncio.to_thread(sync_schedule, ocma)
    return report
