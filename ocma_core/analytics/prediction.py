"""Predicting a draft's engagement from the account's own history, with the backtested error beside it.

Model: ridge regression (penalty `RIDGE` on standardised features) of the log engagement rate on the time
of day (as a circle: sine and cosine), weekend, log text length, media count, video, hashtag count, link and
thread. Below `MIN_HISTORY` measured posts it refuses to predict. The error is measured by a rolling-origin
backtest: the last `BACKTEST_SHARE` of posts, in time order, are each predicted by a model trained only on
earlier posts; the same is done with the naive forecast (the mean of earlier posts) so one can see whether
the model beats it. The 80% interval comes from the backtest's own residuals (empirical quantiles).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ocma_core.analytics.data import HASHTAG, LINK, PostObs
from ocma_core.analytics.measures import outcomes

MIN_HISTORY = 30
RIDGE = 3.0
BACKTEST_SHARE = 0.3
BACKTEST_BLOCKS = 5
FEATURES = ("hour_sin", "hour_cos", "weekend", "log_length", "media", "video", "hashtags", "link", "thread")


@dataclass
class Draft:
    """What is known about a draft before it is published."""

    text: str
    media_count: int = 0
    has_video: bool = False
    thread_parts: int = 1
    scheduled_at: datetime | None = None


@dataclass
class Prediction:
    """The forecast for one draft on one account, or why there is none."""

    account_id: str
    can_predict: bool
    reason: str = ""
    rate_name: str = ""
    expected_rate: float | None = None  # geometric-mean engagement rate expected for the draft
    interval80: tuple[float, float] | None = None
    typical_rate: float | None = None  # the account's geometric-mean rate, for comparison
    backtest: dict[str, Any] = field(default_factory=dict)
    history_posts: int = 0
    contributions: dict[str, float] = field(default_factory=dict)  # log-scale effect of each feature
    method: str = "estimate: ridge regression on the account's own measured posts (see backtest)"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _row(text: str, media: int, video: bool, parts: int, when: datetime | None, tz: ZoneInfo) -> list[float]:
    if when is None:
        return [math.nan, math.nan, math.nan, *_content(text, media, video, parts)]
    local = when.astimezone(tz)
    angle = 2 * math.pi * (local.hour + local.minute / 60) / 24
    return [
        math.sin(angle),
        math.cos(angle),
        float(local.weekday() >= 5),
        *_content(text, media, video, parts),
    ]


def _content(text: str, media: int, video: bool, parts: int) -> list[float]:
    return [
        math.log1p(len(text)),
        float(min(media, 4)),
        float(video),
        float(len(HASHTAG.findall(text))),
        float(bool(LINK.search(text))),
        float(parts > 1),
    ]


def matrix(posts: Sequence[PostObs], tz: str) -> np.ndarray:
    """Feature rows of published posts."""
    zone = ZoneInfo(tz)
    return np.array(
        [_row(p.text, p.media_count, p.has_video, p.thread_parts, p.published_at, zone) for p in posts],
        dtype=float,
    ).reshape(len(posts), len(FEATURES))


@dataclass
class _Model:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.where(np.isnan(x), self.mean, x)  # unknown time: the account's average time
        return np.asarray(self.intercept + ((x - self.mean) / self.scale) @ self.coef)


def fit(x: np.ndarray, y: np.ndarray) -> _Model:
    """Ridge regression on standardised features (constant features are left out by a unit scale)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    yc = y - y.mean()
    coef = np.linalg.solve(z.T @ z + RIDGE * np.eye(z.shape[1]), z.T @ yc)
    return _Model(mean, scale, coef, float(y.mean()))


def backtest(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Rolling-origin errors of the model and of the naive mean forecast, on the log scale."""
    n = y.size
    start = max(int(n * (1 - BACKTEST_SHARE)), MIN_HISTORY // 2)
    edges = np.linspace(start, n, BACKTEST_BLOCKS + 1).astype(int)
    model_err, naive_err = [], []
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        m = fit(x[:lo], y[:lo])
        model_err += (y[lo:hi] - m.predict(x[lo:hi])).tolist()
        naive_err += (y[lo:hi] - y[:lo].mean()).tolist()
    e, b = np.array(model_err), np.array(naive_err)
    return {
        "posts_predicted": int(e.size),
        "median_error_factor": math.exp(float(np.median(np.abs(e)))),
        "naive_median_error_factor": math.exp(float(np.median(np.abs(b)))),
        "mean_absolute_log_error": float(np.mean(np.abs(e))),
        "naive_mean_absolute_log_error": float(np.mean(np.abs(b))),
        "beats_naive": bool(np.mean(np.abs(e)) < np.mean(np.abs(b))),
        "residual_q10": float(np.quantile(e, 0.1)),
        "residual_q90": float(np.quantile(e, 0.9)),
        "method": f"rolling origin: the last {int(BACKTEST_SHARE * 100)}% of posts in {BACKTEST_BLOCKS} blocks, each "
        "predicted from earlier posts only; error factor = exp(median |log error|)",
    }


def predict(posts: Sequence[PostObs], draft: Draft, tz: str, account_id: str) -> Prediction:
    """Forecast a draft's engagement rate on an account, or say why it cannot yet."""
    out = outcomes(list(posts))
    n = out.y.size
    if n < MIN_HISTORY:
        return Prediction(
            account_id,
            False,
            reason=f"needs at least {MIN_HISTORY} measured posts on this account; "
            f"it has {n}. Publish more and collect their metrics first.",
            history_posts=n,
            rate_name=out.name,
        )
    x = matrix(out.posts, tz)
    bt = backtest(x, out.y)
    model = fit(x, out.y)
    row = np.array(
        [
            _row(
                draft.text,
                draft.media_count,
                draft.has_video,
                draft.thread_parts,
                draft.scheduled_at,
                ZoneInfo(tz),
            )
        ]
    )
    log_pred = float(model.predict(row)[0])
    filled = np.where(np.isnan(row[0]), model.mean, row[0])
    contributions = {
        name: float(c * (v - m) / s)
        for name, c, v, m, s in zip(FEATURES, model.coef, filled, model.mean, model.scale, strict=True)
    }
    shift = 1.0 if out.kind == "post" else 0.0  # per-post counts were modelled as log(interactions + 1)
    return Prediction(
        account_id,
        True,
        rate_name=f"{out.name} (geometric mean)",
        expected_rate=math.exp(log_pred) - shift,
        interval80=(
            math.exp(log_pred + bt["residual_q10"]) - shift,
            math.exp(log_pred + bt["residual_q90"]) - shift,
        ),
        typical_rate=math.exp(float(out.y.mean())) - shift,
        backtest=bt,
        history_posts=n,
        contributions=contributions,
    )
