"""Hashtags, formats, links and topics that over- or under-perform, beyond noise.

Each post's log engagement rate is centred on its own account's mean (so a big account does not make its
hashtags look good). For every feature value carried by at least `MIN_POSTS` posts (and missing from at
least as many), the posts with it are compared with the posts without it (Mann-Whitney U); the effect is
the Hodges-Lehmann ratio. All p-values are adjusted together (Benjamini-Hochberg, FDR 5%).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ocma_core.analytics.data import PostObs
from ocma_core.analytics.measures import outcomes
from ocma_core.analytics.stats import bh_adjust, mann_whitney

MIN_POSTS = 5
FDR = 0.05


@dataclass
class FeatureEffect:
    """How posts with one feature value did against posts without it."""

    feature: str  # hashtag, format, link, topic
    value: str
    ratio: float  # Hodges-Lehmann ratio of engagement rates, with / without
    posts_with: int
    posts_without: int
    p_value: float
    q_value: float = 1.0
    significant: bool = False
    verdict: str = "no detectable difference"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def features_of(post: PostObs) -> list[tuple[str, str]]:
    """(feature, value) pairs describing a post."""
    pairs = [("format", post.format)]
    if post.has_link:
        pairs.append(("link", "with link"))
    pairs += [("hashtag", f"#{tag}") for tag in post.hashtags]
    pairs += [("topic", topic) for topic in post.topics]
    return pairs


def analyze(posts_by_account: Mapping[str, Sequence[PostObs]]) -> list[FeatureEffect]:
    """Feature effects across the given accounts, most over-performing first."""
    residuals: list[float] = []
    feats: list[list[tuple[str, str]]] = []
    for posts in posts_by_account.values():
        out = outcomes(list(posts))
        if out.y.size < 2:
            continue
        centred = out.y - out.y.mean()
        residuals += centred.tolist()
        feats += [features_of(p) for p in out.posts]
    r = np.array(residuals)
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, pairs in enumerate(feats):
        for pair in set(pairs):
            holders[pair].append(i)
    effects = []
    n = r.size
    for (feature, value), idx in holders.items():
        if len(idx) < MIN_POSTS or n - len(idx) < MIN_POSTS:
            continue
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        test = mann_whitney(r[mask], r[~mask])
        effects.append(
            FeatureEffect(
                feature, value, math.exp(test.shift), int(mask.sum()), int((~mask).sum()), test.p_value
            )
        )
    for effect, q in zip(effects, bh_adjust([e.p_value for e in effects]), strict=True):
        effect.q_value = q
        effect.significant = q <= FDR and effect.ratio != 1.0
        if effect.significant:
            effect.verdict = "over-performs" if effect.ratio > 1 else "under-performs"
    effects.sort(key=lambda e: (not e.significant, -abs(math.log(e.ratio)) if e.ratio > 0 else 0.0))
    return effects
