"""Core tools that report: post metrics and a performance summary, built only from stored metric snapshots
(nothing is fetched from a platform here), and the best time to post from the analytics module."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from ocma_agent.context import ToolContext
from ocma_agent.times import local, parse_day
from ocma_core.app import posts
from ocma_core.app.models import Account, Post, PostMetricSnapshot, Target, TargetStatus
from ocma_core.errors import ConfigError, ValidationFailed

log = logging.getLogger(__name__)
MAX_TARGETS = 500
SOURCE = "stored metric snapshots (the latest one per post); nothing was fetched from the platforms now"


RANK_AT_HOURS = 24.0


def _latest(ctx: ToolContext, target_ids: list[str]) -> dict[str, PostMetricSnapshot]:
    if not target_ids:
        return {}
    with ctx.ocma.session() as session:
        rows = session.exec(
            select(PostMetricSnapshot).where(col(PostMetricSnapshot.target_id).in_(target_ids))
        )
        latest: dict[str, PostMetricSnapshot] = {}
        for row in rows:
            if row.target_id not in latest or row.fetched_at > latest[row.target_id].fetched_at:
                latest[row.target_id] = row
    return latest


def _shared(platform: str, snapshot: PostMetricSnapshot) -> dict[str, float] | None:
    """The snapshot in the shared vocabulary (likes, reposts, ...), when the analytics module is installed."""
    try:
        from ocma_core.app.analytics import map_metrics, vocabulary_of
    except ImportError:
        return None
    mapped = map_metrics(snapshot.values, snapshot.unavailable, platform_vocabulary=vocabulary_of(platform))
    values = dict(mapped.values)
    total, used = mapped.interactions()
    if used:
        values["interactions"] = total
    return values


def _row(
    ctx: ToolContext, target: Target, post: Post, handle: str, snap: PostMetricSnapshot
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "post_id": post.id,
        "target_id": target.id,
        "platform": target.platform,
        "account": handle,
        "published": local(target.published_at, ctx.timezone),
        "text": " ".join(post.body.split())[:80],
        "metrics": snap.values,
        "as_of": local(snap.fetched_at, ctx.timezone),
        "measured_after_hours": (
            round((snap.fetched_at - target.published_at).total_seconds() / 3600, 1)
            if target.published_at
            else None
        ),
    }
    if target.url:
        row["url"] = target.url
    if target.status is TargetStatus.DELETED:
        row["deleted"] = "deleted from the platform since; these are the last metrics collected"
    if snap.unavailable:
        row["not_provided_by_platform"] = snap.unavailable
    return row


def _why_none(target: Target) -> dict[str, str]:
    """Why a target has no snapshot when its platform gives no post metrics at all (else nothing)."""
    from ocma_core import Capability
    from ocma_core.app.accounts import get_platform
    from ocma_core.errors import OcmaError

    try:
        platform = get_platform(target.platform)
    except OcmaError:
        return {}
    if Capability.POST_METRICS in platform.capabilities:
        return {}
    return {"why": platform.metrics_unavailable("post")}


def post_metrics(ctx: ToolContext, post_id: str) -> dict[str, Any]:
    """Stored metrics of a published post, per platform, with when they were collected.

    Args:
        post_id: The post.
    """
    post = posts.get_post(ctx.ocma, ctx.workspace_id, post_id)
    targets = posts.targets_of(ctx.ocma, post.id)
    latest = _latest(ctx, [t.id for t in targets])
    with ctx.ocma.session() as session:
        handles = {
            a.id: a.handle
            for a in session.exec(select(Account).where(col(Account.id).in_([t.account_id for t in targets])))
        }
    rows, missing = [], []
    for target in targets:
        snap = latest.get(target.id)
        if snap is None:
            missing.append({"platform": target.platform, "status": str(target.status), **_why_none(target)})
        else:
            rows.append(_row(ctx, target, post, handles.get(target.account_id, ""), snap))
    return {
        "post_id": post.id,
        "status": str(post.status),
        "metrics": rows,
        "no_metrics_yet": missing,
        "source": SOURCE,
    }


def _ranked(ctx: ToolContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with interactions, ranked by their interactions at RANK_AT_HOURS (rows without that left out)."""
    try:
        from ocma_core.app.analytics import interactions_at
    except ImportError:
        return []
    with_counts = [r for r in rows if "interactions" in r.get("shared", {})]
    at_age = interactions_at(ctx.ocma, [r["target_id"] for r in with_counts], RANK_AT_HOURS)
    ranked = []
    for r in with_counts:
        if r["target_id"] in at_age:
            r["interactions_at_24h"] = at_age[r["target_id"]]
            ranked.append(r)
    return sorted(ranked, key=lambda r: -r["interactions_at_24h"])


def performance_summary(
    ctx: ToolContext, start: str, end: str, account_ids: list[str] | None = None
) -> dict[str, Any]:
    """How posts published in a period did, from stored metrics only: per post, totals and the top posts.

    Args:
        start: First day (YYYY-MM-DD), workspace timezone.
        end: Last day (inclusive).
        account_ids: Only these accounts.
    """
    first, last = parse_day(start, ctx.timezone), parse_day(end, ctx.timezone, end=True)
    if last <= first:
        raise ValidationFailed("The period ends before it starts.")
    with ctx.ocma.session() as session:
        query = (
            select(Target, Post)
            .where(
                Target.post_id == Post.id,
                Target.workspace_id == ctx.workspace_id,
                col(Target.status).in_([TargetStatus.PUBLISHED, TargetStatus.DELETED]),
                col(Target.published_at) >= first,
                col(Target.published_at) < last,
            )
            .order_by(col(Target.published_at))
            .limit(MAX_TARGETS)
        )
        if account_ids:
            query = query.where(col(Target.account_id).in_(account_ids))
        pairs = list(session.exec(query))
        handles = {
            a.id: a.handle
            for a in session.exec(select(Account).where(Account.workspace_id == ctx.workspace_id))
        }
    latest = _latest(ctx, [t.id for t, _ in pairs])
    rows: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    totals: dict[str, dict[str, float]] = defaultdict(lambda: {"total": 0.0, "posts": 0})
    for target, post in pairs:
        snap = latest.get(target.id)
        if snap is None:
            missing.append(
                {
                    "post_id": post.id,
                    "platform": target.platform,
                    "published": local(target.published_at, ctx.timezone),
                }
            )
            continue
        row = _row(ctx, target, post, handles.get(target.account_id, ""), snap)
        shared = _shared(target.platform, snap)
        if shared is not None:
            row["shared"] = shared
            for name, value in shared.items():
                totals[name]["total"] += value
                totals[name]["posts"] += 1
        rows.append(row)
    ranked = _ranked(ctx, rows)
    return {
        "period": {"from": local(first, ctx.timezone), "until": local(last, ctx.timezone)},
        "publications": len(pairs),  # one per post and platform it went out on
        "with_metrics": len(rows),
        "posts": rows,
        "totals": {k: {"total": v["total"], "posts": int(v["posts"])} for k, v in totals.items()},
        "top_by_interactions": [
            {
                "post_id": r["post_id"],
                "platform": r["platform"],
                "interactions_at_24h": r["interactions_at_24h"],
                "interactions": r["shared"]["interactions"],
                "measured_after_hours": r["measured_after_hours"],
            }
            for r in ranked[:3]
        ],
        "ranking": f"posts ranked by their interactions {RANK_AT_HOURS:.0f} h after publishing (interpolated "
        "between their own snapshots), so older posts do not win by age; posts without snapshots around "
        f"that age are not ranked ({len(rows) - len(ranked)} here)",
        "no_metrics_yet": missing,
        "source": SOURCE,
        **_analysis(ctx, first, last),
        **(
            {"note": "More than 500 published targets: only the first 500 are included."}
            if len(pairs) >= MAX_TARGETS
            else {}
        ),
    }


def best_slot(ctx: ToolContext, account_ids: list[str]) -> tuple[datetime | None, dict[str, Any]]:
    """The next start of the hour of week measured best for these accounts and why, or None and why not."""
    try:
        from ocma_core.app.analytics import next_best_time
    except ImportError as exc:
        raise ConfigError(
            f"Best-time analysis is not available in this OCMA installation ({exc}).",
            fix='Schedule at an explicit time or use when="next_slot".',
        ) from None
    found = next_best_time(ctx.ocma, ctx.workspace_id, account_ids, after=ctx.now() + timedelta(minutes=30))
    explanation: dict[str, Any] = {
        k: found[k] for k in ("slot", "basis", "expected_lift", "reason", "accounts", "method") if k in found
    }
    return (datetime.fromisoformat(found["at"]) if found["at"] else None), explanation


def _analysis(ctx: ToolContext, first: datetime, last: datetime) -> dict[str, Any]:
    """The analytics module's reading of the period (engagement vs typical, growth, trends), if installed."""
    try:
        from ocma_core.app.analytics import performance_summary as analyse
    except ImportError:
        return {"analysis": None, "analysis_note": "analytics module not installed"}
    zone = ZoneInfo(ctx.timezone)
    period = f"{first.astimezone(zone).date().isoformat()}..{last.astimezone(zone).date().isoformat()}"
    try:
        return {"analysis": analyse(ctx.ocma, ctx.workspace_id, period)}
    except Exception as exc:  # the table above stands on its own; say why the analysis is missing
        log.warning("analytics summary failed: %s", exc)
        return {"analysis": None, "analysis_note": f"analysis failed: {exc}"}
