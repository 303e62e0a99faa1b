"""Accounts with known content effects (or none) for checking the forecast and its 80% interval."""

from __future__ import annotations

import numpy as np

from ocma_core.analytics import prediction
from ocma_core.analytics.data import PostObs
from ocma_core.analytics.synthetic import make_posts


def account(seed: int, n: int, media_effect: float) -> list[PostObs]:
    """n + 1 posts in time order, half with an image; an image multiplies engagement by `media_effect`."""
    rng = np.random.default_rng(seed)
    posts = make_posts(seed, n + 1)
    for p in posts:
        p.media_count = int(rng.random() < 0.5)
        p.text = "x" * int(rng.integers(20, 200))
        if p.media_count:
            p.interactions *= media_effect
    return posts


def observed_rate(p: PostObs) -> float:
    """What the forecast is of: (interactions + 1) / impressions, the rate the model is fitted to."""
    return (p.interactions + 1.0) / float(p.impressions or 1.0)


def run(seed: int, n: int, media_effect: float) -> tuple[prediction.Prediction, bool]:
    """Forecast the (n+1)-th post from the first n; whether its outcome fell inside the 80% interval."""
    posts = account(seed, n, media_effect)
    history, nxt = posts[:-1], posts[-1]
    draft = prediction.Draft(nxt.text, media_count=nxt.media_count, scheduled_at=nxt.published_at)
    result = prediction.predict(history, draft, "UTC", "a")
    lo, hi = result.interval80 or (0.0, 0.0)
    return result, lo <= observed_rate(nxt) <= hi
