"""What the stored clicks say: per UTM campaign over a period, per post, and the reports' section beside the
platforms' own metrics. Only measured numbers: where no receiver is configured and nothing was stored, the
answer says clicks are not measured rather than showing 0."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from ocma_core.analytics.periods import Period
from ocma_core.clicks.secret import hook_status
from ocma_core.clicks.store import METRIC
from ocma_core.context import Ocma
from ocma_core.db.click_models import ClickDay, PostClickSnapshot

if TYPE_CHECKING:
    from ocma_core.analytics.base import AnalysisContext

NOT_MEASURED = (
    "Link clicks are not measured: no click receiver is configured (`ocma clicks secret`, docs/clicks.md)."
)
TOP_POSTS = 20


def days_of(period: Period) -> tuple[date, date]:
    """The period's first and end (excluded) day in its timezone: clicks are kept per local day."""
    zone = ZoneInfo(period.timezone)
    return period.start.astimezone(zone).date(), period.end.astimezone(zone).date()


def _rows(ocma: Ocma, workspace_id: str, period: Period) -> list[ClickDay]:
    first, end = days_of(period)
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(ClickDay).where(
                    col(ClickDay.workspace_id) == workspace_id,
                    col(ClickDay.day) >= first,
                    col(ClickDay.day) < end,
                )
            ).all()
        )
        for row in rows:
            session.expunge(row)
        return rows


def _measured(ocma: Ocma, workspace_id: str, rows: list[ClickDay]) -> dict[str, Any]:
    """The receiver's status, and whether the numbers below are measurements (0 included) or unknown."""
    status = hook_status(ocma, workspace_id)
    return {"receiver": status, "measured": bool(status["configured"] or rows)}


def campaigns(
    ocma: Ocma, workspace_id: str, period: Period, rows: list[ClickDay] | None = None
) -> dict[str, Any]:
    """Clicks per UTM campaign in the period (days local to the period's timezone), with the posts and days."""
    rows = _rows(ocma, workspace_id, period) if rows is None else rows
    out: dict[str, Any] = {"period": period.as_dict(), **_measured(ocma, workspace_id, rows)}
    grouped: dict[str, list[ClickDay]] = defaultdict(list)
    for row in rows:
        grouped[row.utm_campaign].append(row)
    found: list[dict[str, Any]] = []
    for name, group in grouped.items():
        sources: dict[str, int] = defaultdict(int)
        for row in group:
            sources[row.utm_source or "(none)"] += row.clicks
        found.append(
            {
                "utm_campaign": name or None,
                "clicks": sum(r.clicks for r in group),
                "attributed_to_posts": sum(r.clicks for r in group if r.post_id),
                "posts": sorted({r.post_id for r in group if r.post_id}),
                "days": sorted({r.day.isoformat() for r in group}),
                "by_source": dict(sorted(sources.items())),
            }
        )
    found.sort(key=lambda c: (-c["clicks"], c["utm_campaign"] or ""))
    total = sum(r.clicks for r in rows)
    out["campaigns"] = found
    out["total"] = total if out["measured"] else None
    out["summary"] = _campaign_summary(out, period)
    return out


def _campaign_summary(out: dict[str, Any], period: Period) -> str:
    if not out["measured"]:
        return NOT_MEASURED
    if not out["campaigns"]:
        return f"No link clicks recorded in {period.label}."
    parts = [f"{c['utm_campaign'] or '(no campaign)'} {c['clicks']}" for c in out["campaigns"][:5]]
    return f"{out['total']} link clicks in {period.label}: " + ", ".join(parts) + "."


def post_clicks(ocma: Ocma, workspace_id: str, post_id: str) -> dict[str, Any]:
    """A post's link clicks: the cumulative snapshots, per day and per UTM values (the post must exist)."""
    from ocma_core.services.posts import get_post

    get_post(ocma, workspace_id, post_id)
    with ocma.session() as session:
        snaps = session.exec(
            select(PostClickSnapshot)
            .where(col(PostClickSnapshot.post_id) == post_id)
            .order_by(col(PostClickSnapshot.fetched_at), col(PostClickSnapshot.id))
        ).all()
        rows = session.exec(
            select(ClickDay)
            .where(col(ClickDay.workspace_id) == workspace_id, col(ClickDay.post_id) == post_id)
            .order_by(col(ClickDay.day))
        ).all()
        snapshots = [
            {
                "snapshot_id": s.id,
                "fetched_at": s.fetched_at.isoformat(),
                "source": s.source,
                "values": s.values,
            }
            for s in snaps
        ]
        by_day: dict[str, int] = defaultdict(int)
        by_utm: dict[tuple[str, str, str], int] = defaultdict(int)
        for r in rows:
            by_day[r.day.isoformat()] += r.clicks
            by_utm[(r.utm_campaign, r.utm_source, r.utm_medium)] += r.clicks
    status = hook_status(ocma, workspace_id)
    measured = bool(status["configured"] or rows)
    return {
        "post_id": post_id,
        "receiver": status,
        "measured": measured,
        METRIC: sum(by_day.values()) if measured else None,
        "snapshots": snapshots,
        "by_day": [{"day": d, "clicks": n} for d, n in sorted(by_day.items())],
        "by_utm": [
            {"utm_campaign": c or None, "utm_source": s or None, "utm_medium": m or None, "clicks": n}
            for (c, s, m), n in sorted(by_utm.items(), key=lambda kv: -kv[1])
        ],
    }


def totals_by_post(ocma: Ocma, workspace_id: str, post_ids: list[str]) -> dict[str, int]:
    """All-time link clicks of each post that has some."""
    if not post_ids:
        return {}
    with ocma.session() as session:
        found = session.exec(
            select(ClickDay.post_id, func.sum(ClickDay.clicks))
            .where(col(ClickDay.workspace_id) == workspace_id, col(ClickDay.post_id).in_(post_ids))
            .group_by(col(ClickDay.post_id))
        ).all()
        return {post_id: int(total) for post_id, total in found}


def report_section(ctx: AnalysisContext) -> dict[str, Any]:
    """The period's link clicks beside the platforms' metrics of the same posts (their latest snapshots)."""
    rows = _rows(ctx.ocma, ctx.workspace_id, ctx.period)
    found = campaigns(ctx.ocma, ctx.workspace_id, ctx.period, rows)
    in_period: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.post_id:
            in_period[row.post_id] += row.clicks
    top = sorted(in_period.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_POSTS]
    platform = _platform_figures(ctx.ocma, [post_id for post_id, _ in top])
    posts = [
        {"post_id": post_id, METRIC: n, **platform.get(post_id, _no_platform_figures())} for post_id, n in top
    ]
    section = {
        "measured": found["measured"],
        "receiver": found["receiver"],
        "total": found["total"],
        "attributed_to_posts": sum(in_period.values()) if found["measured"] else None,
        "campaigns": found["campaigns"],
        "posts": posts,
        "method": "Clicks your analytics reported to POST /webhooks/analytics, counted on the day they "
        "happened (workspace time); beside them each post's platform figures from its targets' latest stored "
        "snapshots. The platforms' own `clicks` metric is what each platform reports; link_clicks is what "
        "your site measured.",
    }
    if ctx.account_ids is not None:
        section["accounts_note"] = (
            "Link clicks are per post and campaign, not per account: this section covers the whole "
            "workspace, whichever accounts the report was asked for."
        )
    section["summary"] = _section_summary(section, found["summary"])
    return section


def _no_platform_figures() -> dict[str, Any]:
    return {"text": "", "platform_clicks": None, "impressions": None, "interactions": None}


def _platform_figures(ocma: Ocma, post_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per post: its text, and the platforms' clicks, impressions and interactions from each target's latest
    snapshot, summed over its targets where reported (None where no target reports them)."""
    from ocma_core.analytics.vocabulary import map_metrics, vocabulary_of
    from ocma_core.db.analytics_models import MetricSchedule
    from ocma_core.db.models import Post, PostMetricSnapshot, Target

    if not post_ids:
        return {}
    with ocma.session() as session:
        texts = session.exec(select(Post.id, Post.body).where(col(Post.id).in_(post_ids))).all()
        latest = session.exec(
            select(Target.post_id, Target.platform, PostMetricSnapshot.values, PostMetricSnapshot.unavailable)
            .join(MetricSchedule, col(MetricSchedule.ref_id) == col(Target.id))
            .join(PostMetricSnapshot, col(PostMetricSnapshot.id) == col(MetricSchedule.latest_snapshot_id))
            .where(col(MetricSchedule.kind) == "post", col(Target.post_id).in_(post_ids))
        ).all()
    out = {post_id: {**_no_platform_figures(), "text": body[:80]} for post_id, body in texts}
    for post_id, platform, values, unavailable in latest:
        mapped = map_metrics(values, unavailable, platform_vocabulary=vocabulary_of(platform))
        interactions, counted = mapped.interactions()
        row = out[post_id]
        for key, value in (
            ("platform_clicks", mapped.values.get("clicks")),
            ("impressions", mapped.values.get("impressions")),
            ("interactions", interactions if counted else None),
        ):
            if value is not None:
                row[key] = (row[key] or 0) + value
    return out


def _section_summary(section: dict[str, Any], campaigns_summary: str) -> str:
    if not section["measured"] or not section["total"]:
        return campaigns_summary
    text = campaigns_summary
    if section["posts"]:
        best = section["posts"][0]
        beside = (
            f" (the platforms report {best['platform_clicks']:.0f} clicks)"
            if best["platform_clicks"] is not None
            else ""
        )
        text += f" Most clicked post: {best['post_id']} with {best[METRIC]}{beside}."
    return text
