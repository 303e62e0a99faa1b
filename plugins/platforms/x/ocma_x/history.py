"""Reading what is already on X: the account's past posts (user timeline), other accounts' public counts.

X serves at most the 3,200 most recent posts of a user timeline; older posts cannot be imported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ocma_core import AccountContext, MetricsSnapshot, PastPage, PastPost, Rejected
from ocma_x import metrics as m

if TYPE_CHECKING:
    from ocma_x.platform import XPlatform


def _time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def past_page(
    platform: XPlatform, ctx: AccountContext, since: datetime | None, cursor: str | None
) -> PastPage:
    """GET /2/users/:id/tweets (newest first, 100 a page, no replies or reposts) back to `since`."""
    params = {"max_results": "100", "tweet.fields": "created_at", "exclude": "replies,retweets"}
    if since is not None:
        params["start_time"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if cursor:
        params["pagination_token"] = cursor
    body = await platform.get(ctx, f"/2/users/{ctx.external_id}/tweets", "GET /2/users/:id/tweets", params)
    posts = []
    for post in body.get("data") or []:
        created = _time(post.get("created_at")) if isinstance(post, dict) else None
        if created is not None:
            pid = str(post["id"])
            posts.append(PastPost(pid, created, str(post.get("text", "")), platform.public_url(ctx, pid)))
    token = (body.get("meta") or {}).get("next_token")
    return PastPage(posts, str(token) if token else None)


async def public_account(platform: XPlatform, ctx: AccountContext, handle: str) -> MetricsSnapshot:
    """GET /2/users/by/username/:username?user.fields=public_metrics: another account's public counts."""
    name = handle.strip().lstrip("@")
    if not name.replace("_", "").isalnum():
        raise Rejected(f"{handle!r} is not an X username.")
    body = await platform.get(
        ctx,
        f"/2/users/by/username/{name}",
        "GET /2/users/by/username/:username",
        {"user.fields": "public_metrics"},
    )
    user = body.get("data")
    if not isinstance(user, dict):
        errors = body.get("errors") or [{}]
        raise Rejected(f"X has no public account {name}: {errors[0].get('detail', body)}")
    values = m.numbers(user.get("public_metrics"))
    missing = tuple(n for n in m.USER_PUBLIC if n not in values)
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=missing)
