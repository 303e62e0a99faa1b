"""A common metric vocabulary: platform metric names mapped to shared names, keeping what is not provided.

Each platform names its numbers its own way (X `retweet_count`, Bluesky `repostCount`, Mastodon
`reblogs_count`, LinkedIn `shareCount` or `RESHARE`). Analyzers work on the shared names below. A metric a
platform declared in a snapshot's `unavailable` list is reported as *not provided*; one that is neither
reported nor declared is *not reported*. Nothing is filled in. A plugin may add its own mapping with a
class attribute `metric_vocabulary = {"platformName": "shared_name"}` on its Platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Shared post metrics, in display order.
POST_METRICS = (
    "impressions",
    "reach",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "saves",
    "clicks",
    "profile_clicks",
    "video_views",
)
#: Post metrics OCMA measures itself, never a platform: `link_clicks` are the clicks on a post's links that
#: the workspace's analytics reported to POST /webhooks/analytics (ocma_core.clicks), kept beside the
#: platform's own `clicks` and never mapped into it.
MEASURED_POST_METRICS = ("link_clicks",)
#: Shared account metrics.
ACCOUNT_METRICS = ("followers", "following", "posts")
#: Metrics summed into "interactions" (public reactions to a post) when the platform provides them.
INTERACTIONS = ("likes", "reposts", "replies", "quotes", "saves")

_POST_ALIASES: dict[str, tuple[str, ...]] = {
    "impressions": (
        "impressions",
        "impression_count",
        "impressionCount",
        "IMPRESSION",
        "views",
        "non_public_metrics.impression_count",
        "organic_metrics.impression_count",
    ),
    "reach": ("reach", "uniqueImpressionsCount", "MEMBERS_REACHED", "unique_impressions"),
    "likes": (
        "likes",
        "like_count",
        "likeCount",
        "favourites_count",
        "REACTION",
        "reactions",
        "organic_metrics.like_count",
    ),
    "reposts": (
        "reposts",
        "retweet_count",
        "repost_count",
        "repostCount",
        "reblogs_count",
        "shareCount",
        "RESHARE",
        "shares",
        "organic_metrics.retweet_count",
    ),
    "replies": (
        "replies",
        "reply_count",
        "replyCount",
        "replies_count",
        "commentCount",
        "COMMENT",
        "comments",
        "organic_metrics.reply_count",
    ),
    "quotes": ("quotes", "quote_count", "quoteCount", "quotes_count"),
    "saves": ("saves", "bookmark_count", "bookmarkCount", "saved", "SAVE"),
    "clicks": (
        "clicks",
        "clickCount",
        "url_link_clicks",
        "non_public_metrics.url_link_clicks",
        "OUTBOUND_CLICK",
        "organic_metrics.url_link_clicks",
    ),
    "profile_clicks": (
        "profile_clicks",
        "user_profile_clicks",
        "non_public_metrics.user_profile_clicks",
        "PROFILE_VISIT",
    ),
    "video_views": ("video_views", "view_count", "VIDEO_START"),
}
_ACCOUNT_ALIASES: dict[str, tuple[str, ...]] = {
    "followers": ("followers", "followers_count", "followersCount", "follower_count", "memberFollowersCount"),
    "following": ("following", "following_count", "followsCount", "follows_count"),
    "posts": ("posts", "tweet_count", "post_count", "postsCount", "statuses_count"),
}


@dataclass(slots=True)
class Mapped:
    """Metrics in the shared vocabulary, with the platform name each came from and what is missing."""

    values: dict[str, float]
    source_names: dict[str, str]  # shared name -> platform name
    not_provided: tuple[str, ...]  # the platform says it does not give these
    kind: str = "post"

    @property
    def not_reported(self) -> tuple[str, ...]:
        """Shared metrics neither given nor declared missing."""
        universe = POST_METRICS if self.kind == "post" else ACCOUNT_METRICS
        return tuple(m for m in universe if m not in self.values and m not in self.not_provided)

    def interactions(self) -> tuple[float, tuple[str, ...]]:
        """Sum of the interaction metrics present, and which ones were summed."""
        used = tuple(name for name in INTERACTIONS if name in self.values)
        return sum(self.values[name] for name in used), used


_LOOKUPS: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, tuple[str, int]]] = {}


def _lookup(kind: str, platform_vocabulary: Mapping[str, str] | None) -> dict[str, tuple[str, int]]:
    """platform name -> (shared name, rank); plugin-declared names rank first (-1), then alias order."""
    key = (kind, tuple(sorted((platform_vocabulary or {}).items())))
    found = _LOOKUPS.get(key)
    if found is None:
        aliases = _POST_ALIASES if kind == "post" else _ACCOUNT_ALIASES
        found = {}
        for shared, names in aliases.items():
            for rank, name in enumerate(names):
                found.setdefault(name, (shared, rank))
        for name, shared in (platform_vocabulary or {}).items():
            found[name] = (shared, -1)
        _LOOKUPS[key] = found
    return found


def map_metrics(
    values: Mapping[str, object],
    unavailable: Iterable[str] = (),
    *,
    kind: str = "post",
    platform_vocabulary: Mapping[str, str] | None = None,
) -> Mapped:
    """Translate a snapshot's platform-named values into the shared vocabulary.

    When several platform names map to one shared name (X's public `impression_count` and its
    `non_public_metrics.impression_count`), the first listed alias wins; names a plugin declares win first.
    """
    lookup = _lookup(kind, platform_vocabulary)
    mapped: dict[str, float] = {}
    source: dict[str, str] = {}
    rank: dict[str, int] = {}
    for name, raw in values.items():
        hit = lookup.get(name)
        if hit is None or not isinstance(raw, int | float) or isinstance(raw, bool):
            continue
        shared, r = hit
        if shared not in mapped or r < rank[shared]:
            mapped[shared], source[shared], rank[shared] = float(raw), name, r
    if not unavailable:
        return Mapped(mapped, source, (), kind)
    universe = POST_METRICS if kind == "post" else ACCOUNT_METRICS
    declared: set[str] = set()
    for name in unavailable:
        hit = lookup.get(name)
        missing = hit[0] if hit else (name if name in universe else None)
        if missing is not None and missing not in mapped:
            declared.add(missing)
    return Mapped(mapped, source, tuple(m for m in universe if m in declared), kind)


def vocabulary_of(platform_name: str) -> Mapping[str, str] | None:
    """The extra mapping a platform plugin declares (`metric_vocabulary`), if it is installed."""
    from ocma_core.errors import OcmaError
    from ocma_core.registry import get_platform

    try:
        platform = get_platform(platform_name)
    except OcmaError:
        return None
    vocab = getattr(platform, "metric_vocabulary", None)
    return vocab if isinstance(vocab, Mapping) else None


def all_plugin_vocabularies() -> dict[str, str]:
    """Names declared by every installed platform plugin (`metric_vocabulary`), merged."""
    from ocma_core.registry import get_platforms

    merged: dict[str, str] = {}
    for platform in get_platforms().values():
        vocab = getattr(platform, "metric_vocabulary", None)
        if isinstance(vocab, Mapping):
            merged.update(vocab)
    return merged


def sql_extract(
    column: Any, shared: str, *, kind: str = "post", extra: Mapping[str, str] | None = None
) -> Any:
    """A SQL expression reading one shared metric out of a JSON `values` column (first alias present wins).

    The same rule as `map_metrics`, evaluated by the database: plugin-declared names first, then the aliases
    in order. Used where thousands of snapshots are read and only a few numbers are needed.
    """
    from sqlalchemy import func

    aliases = (_POST_ALIASES if kind == "post" else _ACCOUNT_ALIASES)[shared]
    names = [n for n, s in (extra or {}).items() if s == shared] + list(aliases)
    return func.coalesce(*(column[name].as_float() for name in names))
