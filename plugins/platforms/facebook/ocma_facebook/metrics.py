"""Page post and Page metrics: engagement fields, and the post insights Meta still serves.

Meta removed `post_impressions_unique` (June 2025), the impressions and `page_fans` metrics (2025-11-15) and
announced more removals for 2026-06-15; a removed metric answers code 100 "must be a valid insights metric".
OCMA asks for the metrics in OCMA_FACEBOOK_POST_INSIGHTS (default below), asks one by one when Meta refuses
the set, and lists a refused metric as unavailable — never as 0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MetricsSnapshot, Rejected, numeric_values
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_facebook.platform import FacebookPlatform

DEFAULT_POST_INSIGHTS = ("post_clicks", "post_reactions_by_type_total", "post_total_media_view_unique")
ENGAGEMENT_FIELDS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
PAGE_FIELDS = ("followers_count", "fan_count")


def insight_names(platform: FacebookPlatform) -> tuple[str, ...]:
    """The post insights to ask for (OCMA_FACEBOOK_POST_INSIGHTS, comma-separated)."""
    configured = platform.setting("POST_INSIGHTS")
    if configured is None:
        return DEFAULT_POST_INSIGHTS
    return tuple(n.strip() for n in configured.split(",") if n.strip())


def _values(item: dict[str, Any]) -> dict[str, float]:
    """One insights entry's lifetime value as numbers (a by-type dict becomes `<name>.<type>` entries)."""
    name = str(item.get("name") or "")
    values = item.get("values") or []
    value = values[-1].get("value") if values and isinstance(values[-1], dict) else None
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {name: float(value)}
    if isinstance(value, dict):
        return {f"{name}.{k}": float(v) for k, v in value.items() if isinstance(v, int | float)}
    return {}


async def _insights(
    platform: FacebookPlatform, ctx: AccountContext, post_id: str, names: tuple[str, ...]
) -> tuple[dict[str, float], list[str]]:
    """Insight values and the names Meta did not serve (asking one by one after a refused set)."""
    if not names:
        return {}, []
    url = platform.graph_url(f"{post_id}/insights")
    token = ctx.tokens.access_token
    batches = [names] if len(names) == 1 else [names, *((n,) for n in names)]
    values: dict[str, float] = {}
    missing: list[str] = []
    for batch in batches:
        params = platform.auth_params(token, {"metric": ",".join(batch)})
        response = await platform.send("GET", url, ctx=ctx, bucket="insights", params=params)
        if graph.is_invalid_metric(response) or graph.graph_error(response).code in (10, 200):
            if len(batch) == 1:
                missing.append(batch[0])
            continue
        platform.raise_for_status(response, effect=False)
        for item in response.json().get("data") or []:
            if isinstance(item, dict):
                values.update(_values(item))
        if batch is names:
            break  # the whole set was served
    return values, missing


async def post(platform: FacebookPlatform, ctx: AccountContext, post_id: str) -> MetricsSnapshot:
    """Reactions, comments and shares (fields), and the configured post insights."""
    body = await platform.call("GET", post_id, ctx, bucket="metrics", params={"fields": ENGAGEMENT_FIELDS})
    values: dict[str, float] = {}
    for name in ("reactions", "comments"):
        summary = (body.get(name) or {}).get("summary") or {}
        if isinstance(summary.get("total_count"), int | float):
            values[name] = float(summary["total_count"])
    # Meta leaves `shares` out of a post nobody shared.
    values["shares"] = float((body.get("shares") or {}).get("count") or 0)
    insight_values, missing = await _insights(platform, ctx, post_id, insight_names(platform))
    values.update(insight_values)
    unavailable = tuple(n for n in ("reactions", "comments") if n not in values) + tuple(missing)
    note = (
        f"Meta does not serve {', '.join(missing)} for this post (removed metric, or no read_insights)."
        if missing
        else ""
    )
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=unavailable, note=note)


async def page(platform: FacebookPlatform, ctx: AccountContext, page_id: str) -> MetricsSnapshot:
    """`GET /{page}?fields=followers_count,fan_count`; a field Meta leaves out is unavailable."""
    body = await platform.call(
        "GET", page_id, ctx, bucket="metrics", params={"fields": ",".join(PAGE_FIELDS)}
    )
    values = numeric_values(body, PAGE_FIELDS)
    if not values:
        raise Rejected("Facebook returned no follower counts for this Page.")
    unavailable = tuple(k for k in PAGE_FIELDS if k not in values)
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=unavailable)
