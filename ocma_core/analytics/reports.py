"""Weekly and monthly reports: every registered analyzer over one period, as JSON, text, CSV and charts."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any

from ocma_core.analytics.base import AnalysisContext, make_context
from ocma_core.analytics.gcpause import gc_paused
from ocma_core.analytics.periods import Period, parse_period
from ocma_core.analytics.registry import get_analyzers
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow

log = logging.getLogger(__name__)
ORDER = ("engagement", "clicks", "growth", "best_time", "trends", "content", "experiments", "competitors")


def resolve_period(ocma: Ocma, workspace_id: str, period: str | Period) -> Period:
    """A Period from its name, in the workspace's timezone."""
    if isinstance(period, Period):
        return period
    from ocma_core.services.workspaces import get_workspace

    return parse_period(period, get_workspace(ocma, workspace_id).timezone)


def build_report(
    ocma: Ocma,
    workspace_id: str,
    period: str | Period = "last-week",
    *,
    account_ids: list[str] | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Run every report analyzer (built-in and plugins') on stored snapshots; a failing one is reported, not fatal."""
    resolved = resolve_period(ocma, workspace_id, period)
    ctx = make_context(ocma, workspace_id, resolved, account_ids=account_ids)
    analyzers = get_analyzers()
    names = [n for n in ORDER if n in analyzers] + sorted(n for n in analyzers if n not in ORDER)
    sections: dict[str, Any] = {}
    errors: dict[str, str] = {}
    ctx.prefetch("series", "history", "in_period")
    with gc_paused():
        for name in names:
            analyzer = analyzers[name]
            if not getattr(analyzer, "in_report", True) or (only and name not in only):
                continue
            try:
                sections[name] = {"title": getattr(analyzer, "title", name), **analyzer.run(ctx)}
            except Exception as exc:  # a broken analyzer must not take the report down
                log.exception("analyzer %s failed", name)
                errors[name] = f"{type(exc).__name__}: {exc}"
    return {
        "period": resolved.as_dict(),
        "workspace_id": workspace_id,
        "generated_at": utcnow().isoformat(),
        "data": _provenance(ctx),
        "sections": sections,
        "errors": errors,
    }


def _provenance(ctx: AnalysisContext) -> dict[str, Any]:
    posts = ctx.in_period
    latest = max((p.fetched_at for p in posts), default=None)
    return {
        "posts_with_metrics": len(posts),
        "history_posts": len(ctx.history),
        "account_snapshots": sum(len(s.times) for s in ctx.series.values()),
        "latest_fetch": latest.isoformat() if latest else None,
        "note": "Every figure comes from stored metric snapshots (ids given with each post); estimates say how "
        "they were made.",
    }


def render_text(report: dict[str, Any]) -> str:
    """A plain-text summary for the agent, the terminal and Slack."""
    period = report["period"]
    lines = [f"Report for {period['label']} ({period['timezone']})"]
    data = report["data"]
    lines.append(
        f"From {data['posts_with_metrics']} posts with stored metrics (last fetch {data['latest_fetch'] or '-'})."
    )
    for name, section in report["sections"].items():
        summary = section.get("summary")
        if summary:
            lines.append(f"\n{section.get('title', name)}: {summary}")
        if name == "engagement":
            unranked = _why_unranked(section)
            if unranked:
                lines.append(f"  Not ranked: {unranked}")
            for label, key in (("Top", "top_posts"), ("Bottom", "bottom_posts")):
                for row in section.get(key, [])[:3]:
                    gone = " (deleted since)" if row.get("deleted") else ""
                    lines.append(
                        f"  {label}: {row['vs_account_typical']:.1f}x typical, {row['interactions']:.0f} "
                        f"interactions after {row['measured_after_hours']:.0f} h, "
                        f'{row["account"]}: "{row["text"][:60]}"{gone}'
                    )
    for name, error in report.get("errors", {}).items():
        lines.append(f"\n{name}: failed ({error})")
    return "\n".join(lines)


def _why_unranked(section: dict[str, Any]) -> str:
    """Why the period's posts have no top and bottom list (empty when they have one or there are no posts)."""
    if section.get("top_posts") or not section.get("posts"):
        return ""
    matching = section.get("age_matching") or {}
    hours = matching.get("compared_at_hours", 24)
    young, no_curve = matching.get("left_out_too_young", 0), matching.get("left_out_no_growth_curve", 0)
    parts = [f"posts are compared at {hours:g} h after publishing"]
    if young:
        parts.append(f"{young} not that old yet")
    if no_curve:
        parts.append(
            f"{no_curve} measured only later, with no growth curve of the account to scale them back"
        )
    if not young and not no_curve:
        parts.append(
            "no account has a typical level at that age yet (its earlier posts measured at that age)"
        )
    return "; ".join(parts) + "."


CSV_COLUMNS = (
    "published_at",
    "account",
    "platform",
    "post_id",
    "target_id",
    "text",
    "interactions",
    "interactions_counted",
    "rate",
    "rate_name",
    "vs_account_typical",
    "impressions",
    "reach",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "saves",
    "clicks",
    "not_provided",
    "measured_after_hours",
    "snapshot_id",
    "fetched_at",
)


def export_rows(ocma: Ocma, workspace_id: str, period: str | Period) -> list[dict[str, Any]]:
    """Post-level rows of a period (latest snapshot of each published target)."""
    from ocma_core.analytics import engagement

    ctx = make_context(ocma, workspace_id, resolve_period(ocma, workspace_id, period))
    return list(engagement.analyze(ctx)["posts"])


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV of export rows (lists joined with '|')."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {**row, **row.get("metrics", {})}
        flat["interactions_counted"] = "|".join(row.get("interactions_counted", []))
        flat["not_provided"] = "|".join(row.get("not_provided", []))
        writer.writerow(flat)
    return out.getvalue()


def to_json(data: Any) -> str:
    """JSON text (datetimes as ISO strings)."""
    return json.dumps(data, indent=2, default=str)
