"""A common metric vocabulary: platform metric names mapped to shared names, keeping what is not provided.

Each platform names its numbers its own way (X `retweet_count`, Bluesky `repostCount`, Mastodon
`reblogs_count`, LinkedIn `shareCount` or `RESHARE`). Analyzers work on the shared names below. A metric a
platform declared in a snapshot's `unavailable` list is reported as *not provided*; one that is neither
reported nor declared is *not reported*. Nothing is filled in. A plugin may add its own mapping with a
class attribute `metric_vocabulary = {"platformName": "shared_name"}` on its Platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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


def _invert(aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for shared, names in aliases.items():
        for name in names:
            out.setdefault(name, shared)
    return out


_POST_LOOKUP = _invert(_POST_ALIASES)
_ACCOUNT_LOOKUP = _invert(_ACCOUNT_ALIASES)


@dataclass(frozen=True)
class Mapped:
    """Metrics in the shared vocabulary, with the platform name each came from and what is missing."""

    values: dict[str, float]
    source_names: dict[str, str]  # shared name -> platform name
    not_provided: tuple[str, ...]  # the platform says it does not give these
    not_reported: tuple[str, ...] = field(default=())  # neither given nor declared missing

    def interactions(self) -> tuple[float, tuple[str, ...]]:
        """Sum of the interaction metrics present, and which ones were summed."""
        used = tuple(name for name in INTERACTIONS if name in self.values)
        return sum(self.values[name] for name in used), used


def _extra_lookup(platform_vocabulary: Mapping[str, str] | None, base: dict[str, str]) -> dict[str, str]:
    if not platform_vocabulary:
        return base
    return {**base, **dict(platform_vocabulary)}


def map_metrics(
    values: Mapping[str, object],
    unavailable: Iterable[str] = (),
    *,
    kind: str = "post",
    platform_vocabulary: Mapping[str, str] | None = None,
) -> Mapped:
    """Translate a snapshot's platform-named values into the shared vocabulary.

    When several platform names map to one shared name (X's public `impression_count` and its
    `non_public_metrics.impression_count`), the first listed alias wins.
    """
    lookup = _extra_lookup(platform_vocabulary, _POST_LOOKUP if kind == "post" else _ACCOUNT_LOOKUP)
    aliases = _POST_ALIASES if kind == "post" else _ACCOUNT_ALIASES
    order = {name: i for names in aliases.values() for i, name in enumerate(names)}
    mapped: dict[str, float] = {}
    source: dict[str, str] = {}
    rank: dict[str, int] = {}
    for name, raw in values.items():
        shared = lookup.get(name)
        if shared is None or not isinstance(raw, int | float) or isinstance(raw, bool):
            continue
        r = order.get(name, -1)  # plugin-declared names win over the built-in aliases
        if shared not in mapped or r < rank[shared]:
            mapped[shared], source[shared], rank[shared] = float(raw), name, r
    declared = set()
    for name in unavailable:
        shared = lookup.get(name) or (name if name in aliases else None)
        if shared is None and name in ("non_public_metrics", "organic_metrics"):
            continue
        if shared is not None and shared not in mapped:
            declared.add(shared)
    universe = POST_METRICS if kind == "post" else ACCOUNT_METRICS
    not_provided = tuple(m for m in universe if m in declared)
    not_reported = tuple(m for m in universe if m not in mapped and m not in declared)
    return Mapped(values=mapped, source_names=source, not_provided=not_provided, not_reported=not_reported)


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
