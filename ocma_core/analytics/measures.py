"""The outcome analyzers model: log engagement rate per post, named by what it divides by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocma_core.analytics.data import PostObs

#: share of an account's posts that must carry a denominator for it to be used
COVERAGE = 0.8
RATE_NAMES = {
    "impressions": "interactions per impression",
    "followers": "interactions per follower",
    "post": "interactions per post",
}


@dataclass
class Outcomes:
    """Posts kept for one account and their log outcomes."""

    kind: str  # impressions, followers or post
    posts: list[PostObs]
    y: np.ndarray  # log((interactions + 1) / exposure), or log(interactions + 1) per post

    @property
    def name(self) -> str:
        """What the rate is, in words."""
        return RATE_NAMES[self.kind]


def choose_kind(posts: Sequence[PostObs]) -> str:
    """Impressions when (nearly) every post has them, else followers, else a plain per-post count."""
    if not posts:
        return "post"
    n = len(posts)
    if sum(1 for p in posts if p.impressions) >= COVERAGE * n:
        return "impressions"
    if sum(1 for p in posts if p.followers) >= COVERAGE * n:
        return "followers"
    return "post"


def outcomes(posts: Sequence[PostObs], kind: str | None = None) -> Outcomes:
    """Log outcomes of the posts that have the chosen denominator (+1 keeps zero-interaction posts)."""
    kind = kind or choose_kind(posts)
    kept = [p for p in posts if kind == "post" or p.exposure(kind)]
    interactions = np.array([p.interactions for p in kept], dtype=float)
    if kind == "post":
        y = np.log(interactions + 1.0)
    else:
        exposure = np.array([p.exposure(kind) or 1.0 for p in kept], dtype=float)
        y = np.log((interactions + 1.0) / exposure)
    return Outcomes(kind=kind, posts=kept, y=y)


def rate_of(post: PostObs, kind: str) -> float | None:
    """The plain (not logged) rate of one post."""
    if kind == "post":
        return post.interactions
    return post.rate(kind)
