"""Reading what is already on Mastodon: the account's past statuses, and other accounts' public counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ocma_core import MetricsSnapshot, PastPage, PastPost, numeric_values
from ocma_mastodon.text import status_text

Get = Callable[[str, dict[str, Any] | None], Awaitable[Any]]
PAGE = 40  # the most GET /api/v1/accounts/:id/statuses returns


def _time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def past_page(get: Get, account_id: str, since: datetime | None, cursor: str | None) -> PastPage:
    """GET /api/v1/accounts/:id/statuses (newest first, no reblogs or replies), paged by max_id."""
    params: dict[str, Any] = {"limit": PAGE, "exclude_reblogs": "true", "exclude_replies": "true"}
    if cursor:
        params["max_id"] = cursor
    rows = await get(f"/api/v1/accounts/{account_id}/statuses", params) or []
    posts = [
        PastPost(
            str(s["id"]), _time(s.get("created_at")), status_text(str(s.get("content") or "")), s.get("url")
        )
        for s in rows
        if not s.get("reblog") and not s.get("in_reply_to_id")
    ]
    kept = [p for p in posts if since is None or p.published_at >= since]
    done = not rows or len(kept) < len(posts)
    return PastPage(kept, None if done else str(rows[-1]["id"]))


async def public_account(get: Get, handle: str) -> MetricsSnapshot:
    """GET /api/v1/accounts/lookup?acct=: followers, following and statuses counts of any public account."""
    account = await get("/api/v1/accounts/lookup", {"acct": handle})
    keys = ("followers_count", "following_count", "statuses_count")
    values = numeric_values(account, keys)
    return MetricsSnapshot(values=values, fetched_at=datetime.now(UTC), unavailable=("impressions",))
