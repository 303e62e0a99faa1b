"""Instagram media insights and account counts.

`GET /{media}/insights?metric=views,reach,likes,comments,shares,saved,total_interactions` (Meta removed
`impressions`, `plays` and `video_views` in 2025: `views` replaces them). Meta answers an empty set when it
has no data yet: OCMA reports those metrics as unavailable ("none yet"), never as 0. A refused metric
(code 100, or code 10 for media too few people saw) is unavailable too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ocma_core import AccountContext, MetricsSnapshot, Rejected, numeric_values
from ocma_core.platforms import graph

if TYPE_CHECKING:
    from ocma_instagram.platform import InstagramPlatform

MEDIA_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
ACCOUNT_FIELDS = ("followers_count", "follows_count", "media_count")


async def post(platform: InstagramPlatform, ctx: AccountContext, media_id: str) -> MetricsSnapshot:
    """The media's lifetime insights; what Meta does not give is listed as unavailable."""
    response = await platform.send(
        "GET",
        f"{platform.api_base}/{platform.version}/{media_id}/insights",
        ctx=ctx,
        bucket="metrics",
        params={"metric": ",".join(MEDIA_METRICS), "access_token": ctx.tokens.access_token},
    )
    now = datetime.now(UTC)
    if graph.is_invalid_metric(response) or graph.graph_error(response).code == 10:
        note = f"Instagram serves no insights for this media: {graph.graph_error(response).text}"
        return MetricsSnapshot(values={}, fetched_at=now, unavailable=MEDIA_METRICS, note=note)
    platform.raise_for_status(response, effect=False)
    values: dict[str, float] = {}
    for item in response.json().get("data") or []:
        points = item.get("values") if isinstance(item, dict) else None
        value = points[-1].get("value") if isinstance(points, list) and points else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            values[str(item["name"])] = float(value)
    unavailable = tuple(m for m in MEDIA_METRICS if m not in values)
    note = "Instagram has no insights for this media yet." if not values else ""
    return MetricsSnapshot(values=values, fetched_at=now, unavailable=unavailable, note=note)


async def account(platform: InstagramPlatform, ctx: AccountContext) -> MetricsSnapshot:
    """`GET /{ig-user}?fields=followers_count,follows_count,media_count`."""
    body = await platform.call(
        "GET", platform.user_path(ctx), ctx, bucket="metrics", params={"fields": ",".join(ACCOUNT_FIELDS)}
    )
    values = numeric_values(body, ACCOUNT_FIELDS)
    if not values:
        raise Rejected("Instagram returned no counts for this account.")
    unavailable = tuple(k for k in ACCOUNT_FIELDS if k not in values)
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=unavailable)
