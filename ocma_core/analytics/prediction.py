"""Predicting a draft's engagement from the account's own history, shown only when it beats the average.

Two forecasts of the log engagement rate are compared out of sample, by a rolling-origin backtest (each of
the later posts, in time order, predicted only from the posts before it):
- the **baseline**: the account's average over its last `RECENT` posts (recency: a level that drifts is
  followed);
- the **model** (from `MIN_MODEL_HISTORY` posts on): ridge regression (penalty `RIDGE` on standardised
  features) on the time of day (sine and cosine), weekend, log text length, media count, video, hashtag
  count, link, thread, and the recent level (the average of the previous `RECENT` posts).
The model's forecast is shown only when its backtest error (mean absolute log error) is below the
baseline's by at least `MARGIN` and a one-sided paired sign-flip test of the error differences gives
p < 0.05; otherwise the baseline is shown, and the result says why. The 80% interval is the forecast
+- t(0.9, m - 1) x the root-mean-square of the shown method's m backtest errors, so its
width comes from out-of-sample errors. Below `MIN_HISTORY` measured posts nothing is forecast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ocma_core.analytics.data import HASHTAG, LINK, PostObs
from ocma_core.analytics.measures import outcomes

MIN_HISTORY = 15  # the baseline and its interval need this many measured posts
MIN_MODEL_HISTORY = 60  # no regression on ten features from fewer posts
RECENT = 30
RIDGE = 3.0
BACKTEST_SHARE = 0.4
MARGIN = 0.03  # the model must cut the baseline's mean absolute log error by at least 3%
LEVEL = 0.8
FEATURES = (
    "hour_sin",
    "hour_cos",
    "weekend",
    "log_length",
    "media",
    "video",
    "hashtags",
    "link",
    "thread",
    "recent_level",
)


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
    basis: str = ""  # model (the regression beat the baseline in the backtest) or baseline
    expected_rate: float | None = None  # geometric-mean engagement rate expected for the draft (shown)
    interval80: tuple[float, float] | None = None
    message: str = ""
    typical_rate: float | None = None  # the account's geometric-mean rate, for comparison
    backtest: dict[str, Any] = field(default_factory=dict)
    history_posts: int = 0
    contributions: dict[str, float] = field(default_factory=dict)  # log-scale effect of each feature
    method: str = ""

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


def matrix(posts: Sequence[PostObs], tz: str, y: np.ndarray) -> np.ndarray:
    """Feature rows of published posts; the recent level uses only posts published before each one."""
    zone = ZoneInfo(tz)
    rows = np.array(
        [_row(p.text, p.media_count, p.has_video, p.thread_parts, p.published_at, zone) for p in posts],
        dtype=float,
    ).reshape(len(posts), len(FEATURES) - 1)
    return np.column_stack([rows, recent_levels(y)])


def recent_levels(y: np.ndarray) -> np.ndarray:
    """Mean of the previous `RECENT` outcomes before each post (the first post: its own, as a neutral value)."""
    out = np.empty(y.size)
    for i in range(y.size):
        out[i] = y[max(0, i - RECENT) : i].mean() if i else (y[0] if y.size else 0.0)
    return out


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


def baseline(y: np.ndarray) -> float:
    """The account's recent level: the mean of its last `RECENT` outcomes."""
    return float(y[-RECENT:].mean())


def backtest(x: np.ndarray, y: np.ndarray, with_model: bool) -> dict[str, Any]:
    """Rolling-origin errors, one post at a time, of the baseline and (if asked) the model, on the log scale."""
    n = y.size
    first = MIN_MODEL_HISTORY // 2 if with_model else MIN_HISTORY // 2
    start = max(int(n * (1 - BACKTEST_SHARE)), first)
    base_err = np.array([y[i] - baseline(y[:i]) for i in range(start, n)])
    out: dict[str, Any] = {
        "posts_predicted": int(base_err.size),
        "baseline_errors": base_err,
        "naive_median_error_factor": math.exp(float(np.median(np.abs(base_err)))),
        "naive_mean_absolute_log_error": float(np.mean(np.abs(base_err))),
        "method": f"rolling origin: each of the last {n - start} posts predicted from the posts before it "
        "only; error factor = exp(median |log error|)",
    }
    if not with_model:
        return out
    model_err = np.array([y[i] - fit(x[:i], y[:i]).predict(x[i : i + 1])[0] for i in range(start, n)])
    mae, base_mae = float(np.mean(np.abs(model_err))), float(np.mean(np.abs(base_err)))
    p = _sign_flip_p(np.abs(base_err) - np.abs(model_err), seed=n)
    out.update(
        {
            "model_errors": model_err,
            "median_error_factor": math.exp(float(np.median(np.abs(model_err)))),
            "mean_absolute_log_error": mae,
            "improvement": 1 - mae / base_mae if base_mae else 0.0,
            "p_value": p,
            "beats_naive": bool(mae <= (1 - MARGIN) * base_mae and p < 0.05),
        }
    )
    return out


def _sign_flip_p(d: np.ndarray, seed: int, draws: int = 1999) -> float:
    """One-sided p-value that the mean of d is > 0 (random sign flips of the paired differences)."""
    if d.size == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    flips = rng.choice((-1.0, 1.0), size=(draws, d.size)) @ d / d.size
    return float((1 + (flips >= d.mean() - 1e-12).sum()) / (draws + 1))


def interval(centre: float, errors: np.ndarray) -> tuple[float, float]:
    """80% prediction interval on the log scale from out-of-sample errors (t quantile, RMS error)."""
    from scipy import stats

    m = errors.size
    rms = float(np.sqrt(np.mean(np.square(errors))))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, m - 1)) * rms
    return centre - half, centre + half


def predict(posts: Sequence[PostObs], draft: Draft, tz: str, account_id: str) -> Prediction:
    """Forecast a draft's engagement rate on an account (model or baseline), or say why it cannot yet."""
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
    x = matrix(out.posts, tz, out.y)
    bt = backtest(x, out.y, with_model=n >= MIN_MODEL_HISTORY)
    shift = 1.0 if out.kind == "post" else 0.0  # per-post counts were modelled as log(interactions + 1)
    level = baseline(out.y)
    result = Prediction(
        account_id,
        True,
        rate_name=f"{out.name} (geometric mean)",
        typical_rate=math.exp(level) - shift,
        history_posts=n,
    )
    if bt.get("beats_naive"):
        model = fit(x, out.y)
        draft_row = _row(
            draft.text,
            draft.media_count,
            draft.has_video,
            draft.thread_parts,
            draft.scheduled_at,
            ZoneInfo(tz),
        )
        row = np.array([[*draft_row, level]])
        centre, errors = float(model.predict(row)[0]), bt["model_errors"]
        filled = np.where(np.isnan(row[0]), model.mean, row[0])
        result.contributions = {
            name: float(c * (v - m) / s)
            for name, c, v, m, s in zip(FEATURES, model.coef, filled, model.mean, model.scale, strict=True)
        }
        result.basis, result.method = "model", "estimate: ridge regression on the account's own posts"
        result.message = (
            f"Forecast from the model: in the backtest it cut the error of the account's recent average by "
            f"{bt['improvement']:.0%} (p={bt['p_value']:.3f})."
        )
    else:
        centre, errors = level, bt["baseline_errors"]
        result.basis, result.method = "baseline", f"the account's average over its last {RECENT} posts"
        result.message = _why_baseline(n, bt)
    lo, hi = interval(centre, errors)
    result.expected_rate = math.exp(centre) - shift
    result.interval80 = (math.exp(lo) - shift, math.exp(hi) - shift)
    result.backtest = {k: v for k, v in bt.items() if not k.endswith("_errors")}
    return result


def _why_baseline(n: int, bt: dict[str, Any]) -> str:
    if n < MIN_MODEL_HISTORY:
        return (
            f"Showing the account's recent average: a model needs at least {MIN_MODEL_HISTORY} measured posts "
            f"(it has {n})."
        )
    return (
        "Showing the account's recent average: in the backtest the model did not beat it by the required "
        f"margin ({bt['improvement']:.0%} better, needs {MARGIN:.0%} with p < 0.05; p={bt['p_value']:.2f})."
    )
