"""Reading what is already on Bluesky: the account's past posts (listRecords), others' public counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocma_bluesky import records
from ocma_bluesky.posting import parse_time
from ocma_core import AccountContext, MetricsSnapshot, PastPage, PastPost, numeric_values

if TYPE_CHECKING:
    from ocma_bluesky.platform import BlueskyPlatform

PAGE = 100  # the most com.atproto.repo.listRecords returns


async def past_page(
    platform: BlueskyPlatform, ctx: AccountContext, since: datetime | None, cursor: str | None
) -> PastPage:
    """com.atproto.repo.listRecords of app.bsky.feed.post on the account's PDS, newest first; replies skipped."""
    params: dict[str, Any] = {"repo": platform.did_of(ctx), "collection": records.POST, "limit": PAGE}
    if cursor:
        params["cursor"] = cursor
    body = await platform.query(ctx, "com.atproto.repo.listRecords", params)
    batch = body.get("records") or []
    posts: list[PastPost] = []
    for item in batch:
        value = item.get("value") or {}
        created = parse_time(value.get("createdAt"))
        if created is None:
            continue
        if since is not None and created < since:
            return PastPage(posts)
        if "reply" not in value:
            uri = str(item["uri"])
            posts.append(PastPost(uri, created, str(value.get("text") or ""), platform.public_url(ctx, uri)))
    next_cursor = body.get("cursor")
    return PastPage(posts, str(next_cursor) if next_cursor and batch else None)


async def public_account(platform: BlueskyPlatform, ctx: AccountContext, handle: str) -> MetricsSnapshot:
    """app.bsky.actor.getProfile of any account: followers, follows and posts counts."""
    body = await platform.query(ctx, "app.bsky.actor.getProfile", {"actor": handle})
    keys = ("followersCount", "followsCount", "postsCount")
    values = numeric_values(body, keys)
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=("impressions",))
