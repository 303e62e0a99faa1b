"""Engagement per post, account and platform for a period, named by what it is and traceable to snapshots.

Interactions are the sum of the interaction metrics a platform provides (likes, reposts, replies, quotes,
saves); the list summed is shown with every figure. The rate is interactions per impression where the
platform reports impressions, else interactions per follower (followers from the account snapshot nearest
to publishing). Metrics a platform does not provide are listed as such, never filled in.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ocma_core.analytics.ages import REFERENCE_HOURS, Matched
from ocma_core.analytics.base import AnalysisContext
from ocma_core.analytics.data import PostObs
from ocma_core.analytics.measures import RATE_NAMES, choose_kind, rate_of
from ocma_core.analytics.vocabulary import POST_METRICS

RANK_AT_HOURS = REFERENCE_HOURS


def post_row(p: PostObs, kind: str, label: str, typical: float | None = None) -> dict[str, Any]:
    """One post's figures, with the snapshot they come from."""
    rate = rate_of(p, kind)
    return {
        "target_id": p.target_id,
        "post_id": p.post_id,
        "account_id": p.account_id,
        "account": label,
        "platform": p.platform,
        "published_at": p.published_at.isoformat(),
        "text": p.text[:140],
        "metrics": {k: p.metrics.values[k] for k in POST_METRICS if k in p.metrics.values},
        "platform_names": p.metrics.source_names,
        "not_provided": list(p.metrics.not_provided),
        "interactions": p.interactions,
        "interactions_counted": list(p.interactions_counted),
        "rate": rate,
        "rate_name": RATE_NAMES[kind],
        "followers_at_publish": p.followers,
        "vs_account_typical": (rate / typical) if rate is not None and typical else None,
        "measured_after_hours": round(p.age_hours, 1),
        **(
            {"deleted": "deleted from the platform since; these are the last metrics collected"}
            if p.deleted
            else {}
        ),
        **p.trace(),
    }


def typical_rates(history: Sequence[PostObs]) -> dict[str, tuple[str, float]]:
    """Each account's median rate over its matured history, with the kind of rate."""
    grouped: dict[str, list[PostObs]] = defaultdict(list)
    for p in history:
        grouped[p.account_id].append(p)
    out = {}
    for account_id, posts in grouped.items():
        kind = choose_kind(posts)
        rates = [r for r in (rate_of(p, kind) for p in posts) if r is not None]
        if rates:
            out[account_id] = (kind, statistics.median(rates))
    return out


def aggregate(posts: Sequence[PostObs], kind: str) -> dict[str, Any]:
    """Totals and rates of a group of posts."""
    rates = [r for r in (rate_of(p, kind) for p in posts) if r is not None]
    out: dict[str, Any] = {
        "posts": len(posts),
        "interactions": sum(p.interactions for p in posts),
        "interactions_counted": sorted({m for p in posts for m in p.interactions_counted}),
        "rate_name": RATE_NAMES[kind],
        "median_post_rate": statistics.median(rates) if rates else None,
        "not_provided": sorted({m for p in posts for m in p.metrics.not_provided}),
        "snapshots": len(posts),
    }
    if kind == "impressions":
        shown = [p for p in posts if p.impressions]
        out["impressions"] = sum(p.impressions or 0.0 for p in shown)
        out["pooled_rate"] = (
            (sum(p.interactions for p in shown) / out["impressions"]) if out["impressions"] else None
        )
    for name in POST_METRICS:
        values = [p.metrics.values[name] for p in posts if name in p.metrics.values]
        if values and name != "impressions":
            out.setdefault("totals", {})[name] = sum(values)
    return out


def _ranked(ctx: AnalysisContext, kinds: dict[str, str]) -> tuple[list[dict[str, Any]], Matched]:
    """The period's posts at the reference age against their account's typical rate at that age."""
    matching = ctx.in_period_at_age
    typical = typical_rates(ctx.history_at_age.posts)
    rows = []
    for p in matching.posts:
        kind, level = typical.get(p.account_id, (kinds.get(p.account_id, "post"), None))
        rows.append(post_row(p, kind, ctx.label(p.account_id), level))
    rankable = [r for r in rows if r["vs_account_typical"] is not None]
    return sorted(rankable, key=lambda r: -r["vs_account_typical"]), matching


def analyze(ctx: AnalysisContext, *, top: int = 5) -> dict[str, Any]:
    """Per-post rows, per-account and per-platform aggregates, and the top and bottom posts of the period."""
    posts = ctx.in_period
    typical = typical_rates(ctx.history)
    kinds = {a: choose_kind(ps) for a, ps in ctx.by_account(posts).items()}
    rows = []
    for p in posts:
        kind = typical.get(p.account_id, (kinds.get(p.account_id, "post"), 0.0))[0]
        rows.append(post_row(p, kind, ctx.label(p.account_id), typical.get(p.account_id, (kind, None))[1]))
    accounts = []
    for account_id, ps in ctx.by_account(posts).items():
        kind = kinds[account_id]
        accounts.append(
            {
                "account_id": account_id,
                "account": ctx.label(account_id),
                "platform": ctx.platforms[account_id],
                **aggregate(ps, kind),
            }
        )
    by_platform: dict[str, list[PostObs]] = defaultdict(list)
    for p in posts:
        by_platform[p.platform].append(p)
    platforms = [
        {"platform": name, **aggregate(ps, choose_kind(ps))} for name, ps in sorted(by_platform.items())
    ]
    ranked, matching = _ranked(ctx, kinds)
    return {
        "posts": rows,
        "accounts": accounts,
        "platforms": platforms,
        "top_posts": ranked[:top],
        "bottom_posts": ranked[max(top, len(ranked) - top) :][::-1],
        "ranking": f"posts compared at {RANK_AT_HOURS:g} h after publishing (ocma_core.analytics.ages), ranked "
        "by their rate divided by their account's median rate over the last 26 weeks at the same age",
        "too_young_to_rank": matching.too_young,
        "age_matching": matching.describe(),
        "method": __doc__.replace("\n", " ").strip() if __doc__ else "",
        "summary": _summary(accounts, ranked),
    }


def _summary(accounts: list[dict[str, Any]], ranked: list[dict[str, Any]]) -> str:
    posted = [a for a in accounts if a["posts"]]
    if not posted:
        return "No published post of this period has stored metrics yet."
    parts = [
        f"{a['account']}: {a['posts']} posts, {a['interactions']:.0f} interactions"
        + (
            f", median {a['median_post_rate']:.2%} {a['rate_name']}"
            if a["median_post_rate"] is not None and a["rate_name"] != "interactions per post"
            else ""
        )
        for a in posted
    ]
    text = "; ".join(parts) + "."
    if ranked:
        best = ranked[0]
        text += (
            f' Best post: "{best["text"][:60]}" on {best["account"]} at {best["vs_account_typical"]:.1f}x the '
            f"account's typical {best['rate_name']} (measured {best['measured_after_hours']:.0f} h after "
            "publishing)."
        )
    return text
