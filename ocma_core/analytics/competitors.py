"""Competitors: public metrics of named accounts, where the platform's API lets anyone read them.

A platform plugin opts in by implementing
    async def public_account_metrics(self, ctx: AccountContext, handle: str) -> MetricsSnapshot
returning the other account's public numbers named as the platform names them (for example X
`GET /2/users/by/username/:username?user.fields=public_metrics`, Bluesky `app.bsky.actor.getProfile`,
Mastodon `GET /api/v1/accounts/lookup`). The call is made with one of our connected accounts on that
platform. Platforms without it are refused with the reason. Comparisons use the same measures on both
sides — follower change and posting rate from stored snapshots — and cite the snapshots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from ocma_core.analytics.data import load_account_series
from ocma_core.analytics.vocabulary import map_metrics, vocabulary_of
from ocma_core.context import Ocma
from ocma_core.db.analytics_models import Competitor, CompetitorMetricSnapshot, MetricSchedule
from ocma_core.db.models import Account
from ocma_core.errors import ConflictError, NotFoundError, ValidationFailed
from ocma_core.platforms import AccountContext, MetricsSnapshot, Platform

METHOD_NAME = "public_account_metrics"


def supports(platform: Platform) -> bool:
    """True when the plugin can read other accounts' public metrics."""
    return callable(getattr(platform, METHOD_NAME, None))


def add_competitor(
    ocma: Ocma, workspace_id: str, platform_name: str, handle: str, via_account_id: str
) -> Competitor:
    """Start following a competitor's public metrics through one of our accounts on the same platform."""
    from ocma_core.registry import get_platform

    platform = get_platform(platform_name)
    if not supports(platform):
        raise ValidationFailed(
            f"{platform.display_name or platform.name}: this plugin cannot read other accounts' public metrics.",
            fix=f"Use a platform whose plugin implements {METHOD_NAME}().",
        )
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValidationFailed("A competitor needs a handle.")
    with ocma.session() as session:
        account = session.get(Account, via_account_id)
        if account is None or account.workspace_id != workspace_id or account.platform != platform.name:
            raise ValidationFailed(
                f"Account {via_account_id} is not a {platform.name} account of this workspace.",
                fix="Pass one of your connected accounts on that platform.",
            )
        exists = session.exec(
            select(Competitor).where(
                col(Competitor.workspace_id) == workspace_id,
                col(Competitor.platform) == platform.name,
                col(Competitor.handle) == handle,
            )
        ).first()
        if exists is not None:
            raise ConflictError(f"{handle} on {platform.name} is already followed.")
        row = Competitor(
            workspace_id=workspace_id, platform=platform.name, handle=handle, via_account_id=via_account_id
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def list_competitors(ocma: Ocma, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Competitor]:
    """The workspace's competitors, one page (`limit` from `offset`)."""
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(Competitor)
                .where(col(Competitor.workspace_id) == workspace_id)
                .order_by(col(Competitor.platform), col(Competitor.handle))
                .offset(offset)
                .limit(limit)
            ).all()
        )
        for row in rows:
            session.expunge(row)
    return rows


def remove_competitor(ocma: Ocma, workspace_id: str, competitor_id: str) -> None:
    """Stop following a competitor and delete its snapshots."""
    with ocma.session() as session:
        row = session.get(Competitor, competitor_id)
        if row is None or row.workspace_id != workspace_id:
            raise NotFoundError(f"No competitor {competitor_id} in this workspace.")
        for snap in session.exec(
            select(CompetitorMetricSnapshot).where(
                col(CompetitorMetricSnapshot.competitor_id) == competitor_id
            )
        ).all():
            session.delete(snap)
        for sched in session.exec(
            select(MetricSchedule).where(
                col(MetricSchedule.kind) == "competitor", col(MetricSchedule.ref_id) == competitor_id
            )
        ).all():
            session.delete(sched)
        session.flush()
        session.delete(row)


async def fetch_competitor(
    ocma: Ocma,
    competitor_id: str,
    platform: Platform,
    wrap: Callable[[Callable[[AccountContext], Any]], Callable[[AccountContext], Awaitable[Any]]]
    | None = None,
) -> MetricsSnapshot:
    """Read the competitor's public metrics now through our account, and store them."""
    from ocma_core.engine.refresh import call_with_refresh
    from ocma_core.services.metrics import store_competitor_snapshot

    with ocma.session() as session:
        row = session.get(Competitor, competitor_id)
        if row is None:
            raise NotFoundError(f"No competitor {competitor_id}.")
        handle, via = row.handle, row.via_account_id
    method = getattr(platform, METHOD_NAME)

    async def call(ctx: AccountContext) -> MetricsSnapshot:
        snap: MetricsSnapshot = await method(ctx, handle)
        return snap

    snap: MetricsSnapshot = await call_with_refresh(ocma, via, platform, wrap(call) if wrap else call)
    await asyncio.to_thread(store_competitor_snapshot, ocma, competitor_id, snap)
    return snap


def _measures(
    points: list[tuple[datetime, dict[str, float], str]], start: datetime, end: datetime
) -> dict[str, Any]:
    inside = [p for p in points if start <= p[0] < end]
    out: dict[str, Any] = {"snapshots": len(inside)}
    if not inside:
        return out
    first, last = inside[0], inside[-1]
    out["snapshot_ids"] = [first[2], last[2]]
    out["from"], out["to"] = first[0].isoformat(), last[0].isoformat()
    for name in ("followers", "posts"):
        if name in first[1] and name in last[1]:
            out[name] = last[1][name]
            out[f"{name}_change"] = last[1][name] - first[1][name]
    days = (last[0] - first[0]).total_seconds() / 86400
    if "followers_change" in out and first[1].get("followers"):
        out["followers_change_percent"] = out["followers_change"] / first[1]["followers"] * 100
    if "posts_change" in out and days >= 1:
        out["posts_per_week"] = out["posts_change"] / days * 7
    return out


def compare(ocma: Ocma, workspace_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Competitors beside our accounts on the same platform, on the same measures, for [start, end)."""
    competitors = list_competitors(ocma, workspace_id)
    if not competitors:
        return []
    platforms = {c.platform for c in competitors}
    with ocma.session() as session:
        snaps = session.exec(
            select(CompetitorMetricSnapshot)
            .where(col(CompetitorMetricSnapshot.competitor_id).in_([c.id for c in competitors]))
            .order_by(col(CompetitorMetricSnapshot.fetched_at))
        ).all()
        ours = session.exec(
            select(Account).where(
                col(Account.workspace_id) == workspace_id, col(Account.platform).in_(platforms)
            )
        ).all()
        our_accounts = [(a.id, a.handle, a.platform) for a in ours]
    series = load_account_series(ocma, workspace_id, [a for a, _, _ in our_accounts])
    rows: list[dict[str, Any]] = []
    for c in competitors:
        vocab = vocabulary_of(c.platform)
        points = [
            (
                s.fetched_at,
                map_metrics(s.values, s.unavailable, kind="account", platform_vocabulary=vocab).values,
                s.id,
            )
            for s in snaps
            if s.competitor_id == c.id
        ]
        rows.append(
            {
                "kind": "competitor",
                "id": c.id,
                "platform": c.platform,
                "handle": c.handle,
                **_measures(points, start, end),
            }
        )
    for account_id, handle, platform in our_accounts:
        s = series.get(account_id)
        points = [(t, m.values, i) for t, m, i in zip(s.times, s.metrics, s.ids, strict=True)] if s else []
        rows.append(
            {
                "kind": "ours",
                "id": account_id,
                "platform": platform,
                "handle": handle,
                **_measures(points, start, end),
            }
        )
    return rows
