"""Reading X's metric objects, accepting both the classic and the 2026-08 OpenAPI field names.

X's metrics page and its examples name the fields `retweet_count` (posts) and `tweet_count` (users); the
OpenAPI description from 2026-08 names them `repost_count` and `post_count`. Either spelling is accepted and
reported under the classic name, so stored series stay continuous.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: new spelling -> classic spelling
RENAMED = {"repost_count": "retweet_count", "post_count": "tweet_count"}

POST_PUBLIC = (
    "retweet_count",
    "reply_count",
    "like_count",
    "quote_count",
    "bookmark_count",
    "impression_count",
)
POST_NON_PUBLIC = ("impression_count", "url_link_clicks", "user_profile_clicks", "engagements")
POST_ORGANIC = (
    "impression_count",
    "like_count",
    "reply_count",
    "retweet_count",
    "url_link_clicks",
    "user_profile_clicks",
)
USER_PUBLIC = (
    "followers_count",
    "following_count",
    "tweet_count",
    "listed_count",
    "like_count",
    "media_count",
)

#: non-public and organic metrics exist only for the author's own posts created in the last 30 days
PRIVATE_METRICS_WINDOW = timedelta(days=30)
_TWEPOCH_MS = 1288834974657  # X's snowflake epoch (2010-11-04), per X's "Twitter IDs" documentation


def created_at_from_id(post_id: str) -> datetime | None:
    """The creation time encoded in a snowflake post id (ids from before Nov 2010 have none)."""
    try:
        number = int(post_id)
    except ValueError:
        return None
    millis = (number >> 22) + _TWEPOCH_MS
    if number < (1 << 22) or millis <= _TWEPOCH_MS:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def numbers(block: Any, prefix: str = "") -> dict[str, float]:
    """Numeric fields of a metrics object, renamed to the classic spelling and prefixed."""
    if not isinstance(block, dict):
        return {}
    values: dict[str, float] = {}
    for key, value in block.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values[f"{prefix}{RENAMED.get(key, key)}"] = float(value)
    return values


def recent_enough(post_id: str, created_at: str | None = None, now: datetime | None = None) -> bool:
    """True when the post is young enough (with an hour's margin) for non-public and organic metrics."""
    when = _parse_time(created_at) if created_at else created_at_from_id(post_id)
    if when is None:
        return False
    return (now or datetime.now(UTC)) - when < PRIVATE_METRICS_WINDOW - timedelta(hours=1)


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
