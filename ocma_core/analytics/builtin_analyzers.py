"""The built-in analyzers, registered through the same `register_analyzers` hook as any plugin's.

This module is loaded with the plugins (so by `ocma --help`): the analysis modules, and numpy, are imported
only when an analyzer runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ocma_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from ocma_core.analytics.base import AnalysisContext


class Engagement:
    """Engagement per post, account and platform; top and bottom posts."""

    name = "engagement"
    title = "Engagement"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.analytics.engagement."""
        from ocma_core.analytics import engagement

        return engagement.analyze(ctx, top=int(ctx.params.get("top", 5)))


class BestTime:
    """Best hours of the week per account."""

    name = "best_time"
    title = "Best times to post"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.analytics.best_time."""
        from ocma_core.analytics import best_time

        results = best_time.analyze(
            ctx.by_account(ctx.history), ctx.platforms, ctx.timezone, top=int(ctx.params.get("slots", 3))
        )
        rows = [{"account": ctx.label(r.account_id), **r.as_dict()} for r in results]
        return {
            "accounts": rows,
            "method": best_time.METHOD,
            "summary": " ".join(f"{row['account']}: {row['message']}" for row in rows),
        }


class Trends:
    """Engagement and follower changes that are beyond noise."""

    name = "trends"
    title = "Trends"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.analytics.trends."""
        from ocma_core.analytics import trends

        matched = ctx.history_at_age  # posts compared at one age after publishing (analytics.ages)
        found = trends.analyze(
            ctx.by_account(matched.posts), ctx.series, ctx.platforms, ctx.period.start, ctx.period.end
        )
        significant = [f for f in found if f.significant]
        rows = [{"account": ctx.label(f.account_id), **f.as_dict()} for f in significant]
        summary = (
            "; ".join(
                f"{r['account']}: {r['measure']} {r['direction']} ({r['effect']}, q={r['q_value']:.3f})"
                for r in rows
            )
            or f"No change beyond noise among {len(found)} tested."
        )
        return {
            "significant": rows,
            "tested": len(found),
            "false_discovery_rate": trends.FDR,
            "all": [f.as_dict() for f in found],
            "method": trends.__doc__,
            "age_matching": matched.describe(),
            "summary": summary,
        }


class Growth:
    """Measured follower (and post count) change per account over the period."""

    name = "growth"
    title = "Growth"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """First and last account snapshot inside the period."""
        from ocma_core.analytics import trends

        rows: list[dict[str, Any]] = []
        parts: list[str] = []
        for account_id in ctx.accounts:
            series = ctx.series.get(account_id)
            found = trends.growth(series, ctx.period.start, ctx.period.end) if series else None
            missing = sorted(
                {name for snap in (series.metrics if series else []) for name in snap.not_provided}
            )
            rows.append(
                {
                    "account_id": account_id,
                    "account": ctx.label(account_id),
                    "followers": found,
                    "not_provided": missing,
                }
            )
            if found:
                parts.append(f"{ctx.label(account_id)} {found['change']:+.0f} followers")
        return {
            "accounts": rows,
            "summary": ", ".join(parts) + "." if parts else "No follower snapshots in the period.",
        }


class Content:
    """Hashtags, formats, links and topics that over- or under-perform."""

    name = "content"
    title = "What works"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.analytics.features."""
        from ocma_core.analytics import features

        effects = features.analyze(ctx.by_account(ctx.history))
        significant = [e.as_dict() for e in effects if e.significant]
        summary = (
            "; ".join(
                f"{e['value']} {e['verdict']} ({e['ratio']:.2f}x, {e['posts_with']} posts)"
                for e in significant
            )
            or f"No feature differs beyond noise among {len(effects)} tested."
        )
        return {
            "significant": significant,
            "tested": len(effects),
            "all": [e.as_dict() for e in effects[:50]],
            "method": features.__doc__,
            "summary": summary,
        }


class Experiments:
    """A/B experiments and their current verdict."""

    name = "experiments"
    title = "Experiments"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """Evaluate running experiments from stored snapshots."""
        from ocma_core.analytics import experiments

        rows = []
        for exp in experiments.list_experiments(ctx.ocma, ctx.workspace_id):
            if exp.status == "running":
                experiments.evaluate(ctx.ocma, ctx.workspace_id, exp.id)
                exp = experiments.get_experiment(ctx.ocma, ctx.workspace_id, exp.id)
            rows.append(experiments.summary(ctx.ocma, exp))
        parts = [
            f"{r['name']}: {r['result'].get('status', r['status'])}"
            + (f" ({r['result'].get('winner')})" if r["result"].get("winner") else "")
            for r in rows
        ]
        return {"experiments": rows, "summary": "; ".join(parts) or "No experiments."}


class Competitors:
    """Competitors beside our accounts on the same measures."""

    name = "competitors"
    title = "Competitors"
    in_report = True

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.analytics.competitors."""
        from ocma_core.analytics import competitors

        rows = competitors.compare(ctx.ocma, ctx.workspace_id, ctx.period.start, ctx.period.end)
        parts = [
            f"{r['handle']} ({r['kind']}) {r['followers_change']:+.0f} followers"
            for r in rows
            if "followers_change" in r
        ]
        return {"accounts": rows, "summary": "; ".join(parts) or "No competitor snapshots in the period."}


class Prediction:
    """Engagement forecast of a draft (needs params: account_id, text, ...)."""

    name = "prediction"
    title = "Prediction"
    in_report = False

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        """See ocma_core.analytics.prediction."""
        from ocma_core.analytics import prediction

        account_id = str(ctx.params["account_id"])
        draft = prediction.Draft(
            text=str(ctx.params.get("text", "")),
            media_count=int(ctx.params.get("media_count", 0)),
            has_video=bool(ctx.params.get("has_video", False)),
            thread_parts=int(ctx.params.get("thread_parts", 1)),
            scheduled_at=ctx.params.get("scheduled_at"),
        )
        posts = ctx.by_account(ctx.history).get(account_id, [])
        return prediction.predict(posts, draft, ctx.timezone, account_id).as_dict()


BUILTIN = (
    Engagement(),
    Growth(),
    BestTime(),
    Trends(),
    Content(),
    Experiments(),
    Competitors(),
    Prediction(),
)


@hookimpl
def register_analyzers(register: Callable[[Any], None]) -> None:
    """Register the built-in analyzers."""
    for analyzer in BUILTIN:
        register(analyzer)
