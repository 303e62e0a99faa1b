"""Calibration of OCMA's analyses on simulated accounts with known truth (larger runs than the CI tests).

Every account is simulated by the generators the tests use (`tests/analytics/calibration/*sim.py`, on top of
`ocma_core.analytics.synthetic`) and pushed through OCMA's own analysis functions:

- best time, no timing effect, 170 and 500 posts: how often a confident top slot is reported (measured, or
  P(better) >= 0.9), and how often the top slot's 90% interval covers the truth (1.00x);
- best time, a planted x1.5 window (09:00-12:00 every day, 170 posts): how often it is found (measured and
  the top slot inside the window);
- A/B, A/A experiments in five scenarios (equal exposure; one post per variant with 5x and with 1/5 the
  history's exposure; three unequal accounts; variants 48 h apart looked at every 12 h): the largest
  false-winner rate (nominal 5%);
- prediction: coverage of the 80% interval for the next post (35, 80, 150 posts, with and without a real
  image effect); forecasts shown by the model although its own backtest lost to the baseline; and, out of
  sample, shown model forecasts that are worse than the baseline on 300 fresh posts.

Run: .venv/bin/python benchmarks/analytics_calibration.py [--scale 1.0]
Last line: besttime_null_confident= besttime_null_coverage90= besttime_effect_found= ab_false_winner_max=
predict_coverage80= predict_shown_when_worse=   (plus the Monte-Carlo standard error of each, and extras)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ocma_core.analytics import prediction  # noqa: E402
from tests.analytics.calibration import ab_sim, predict_sim, sim  # noqa: E402


class Rate(NamedTuple):
    """A simulated rate: hits / n, its Monte-Carlo standard error and 95% (Clopper-Pearson) interval."""

    value: float
    se: float
    low: float
    high: float


def _rate(hits: int, n: int) -> Rate:
    p = hits / n
    ci = stats.binomtest(hits, n).proportion_ci(0.95)
    return Rate(p, math.sqrt(max(p * (1 - p), 1e-9) / n), ci.low, ci.high)


def best_time(scale: float) -> dict[str, Rate]:
    """False claims and coverage with no effect; power with the planted window."""
    n_null, n_big, n_eff = int(600 * scale), int(150 * scale), int(400 * scale)
    null = [sim.best_time_null(1_000_000 + s, 170) for s in range(n_null)]
    big = [sim.best_time_null(2_000_000 + s, 500) for s in range(n_big)]
    planted = [sim.best_time_planted(3_000_000 + s, 170) for s in range(n_eff)]
    return {
        "besttime_null_confident": _rate(sum(map(sim.confident, null)), n_null),
        "besttime_null_coverage90": _rate(sum(map(sim.covers_truth, null)), n_null),
        "besttime_null500_confident": _rate(sum(map(sim.confident, big)), n_big),
        "besttime_null500_coverage90": _rate(sum(map(sim.covers_truth, big)), n_big),
        "besttime_effect_found": _rate(sum(map(sim.found, planted)), n_eff),
    }


def ab(scale: float) -> dict[str, Rate]:
    """False-winner rate of each A/A scenario, and the largest."""
    n, n_looks = int(20000 * scale), int(20000 * scale)  # se of a 5% rate: 0.0015
    out = {}
    for name in ab_sim.SCENARIOS:
        wins = sum(ab_sim.decide(name, 4_000_000 + s)["status"] == "winner" for s in range(n))
        out[f"ab_false_winner_{name}"] = _rate(wins, n)
    wins = sum("winner" in ab_sim.ages_and_looks(5_000_000 + s) for s in range(n_looks))
    out["ab_false_winner_ages_and_looks"] = _rate(wins, n_looks)
    worst = max(out, key=lambda k: out[k].value)  # the largest of five noisy rates: biased upward
    out["ab_false_winner_max"] = out[worst]
    return out


def _truly_worse(seed: int, n: int, effect: float, fresh: int = 300) -> tuple[bool, bool]:
    """(model shown, model worse than the baseline on `fresh` new posts of the same account)."""
    posts = predict_sim.account(seed, n + fresh - 1, effect)
    history, future = posts[:n], posts[n:]
    last = future[0]
    draft = prediction.Draft(last.text, media_count=last.media_count, scheduled_at=last.published_at)
    result = prediction.predict(history, draft, "UTC", "a")
    if result.basis != "model":
        return False, False
    out_h = prediction.outcomes(history)
    x_h = prediction.matrix(out_h.posts, "UTC", out_h.y)
    model, level = prediction.fit(x_h, out_h.y), prediction.baseline(out_h.y)
    out_f = prediction.outcomes(future)
    x_f = prediction.matrix(out_f.posts, "UTC", out_f.y)
    x_f[:, -1] = level  # forecasts made now: the recent level is the history's
    model_mae = float(np.mean(np.abs(out_f.y - model.predict(x_f))))
    base_mae = float(np.mean(np.abs(out_f.y - level)))
    return True, model_mae > base_mae


def predict(scale: float) -> dict[str, Rate]:
    """Interval coverage, forecasts shown against their backtest, and shown-but-worse out of sample."""
    n = int(300 * scale)
    hits = total = shown_losing = shown = 0
    out: dict[str, Rate] = {}
    for posts, effect in ((35, 1.0), (80, 1.0), (150, 1.0), (150, 2.0)):
        runs = [predict_sim.run(6_000_000 + 1000 * posts + s, posts, effect) for s in range(n)]
        covered = sum(inside for _, inside in runs)
        out[f"predict_coverage80_n{posts}_x{effect:g}"] = _rate(covered, n)
        hits, total = hits + covered, total + n
        for r, _ in runs:
            shown += r.basis == "model"
            shown_losing += r.basis == "model" and not r.backtest.get("beats_naive", False)
    out["predict_coverage80"] = _rate(hits, total)
    out["predict_shown_when_worse"] = _rate(shown_losing, max(shown, 1))
    pairs = [_truly_worse(7_000_000 + s, 100, 1.0 if s % 2 else 1.6) for s in range(n)]
    shown_models = [worse for was_shown, worse in pairs if was_shown]
    out["predict_shown_truly_worse"] = _rate(sum(shown_models), max(len(shown_models), 1))
    out["predict_model_shown_share"] = _rate(len(shown_models), n)
    return out


def main() -> None:
    """Run every check and print the figures; the last line is name=value pairs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of simulated accounts")
    args = parser.parse_args()
    started = time.monotonic()
    figures: dict[str, Rate] = {}
    for part in (best_time, ab, predict):
        t = time.monotonic()
        found = part(args.scale)
        figures.update(found)
        for name, r in found.items():
            print(f"{name:40s} {r.value:.4f}  (Monte-Carlo se {r.se:.4f}, 95% CI {r.low:.4f}-{r.high:.4f})")
        print(f"  [{part.__name__}: {time.monotonic() - t:.0f} s]", flush=True)
    print(f"total {time.monotonic() - started:.0f} s")
    keys = (
        "besttime_null_confident",
        "besttime_null_coverage90",
        "besttime_effect_found",
        "ab_false_winner_max",
        "predict_coverage80",
        "predict_shown_when_worse",
    )
    print(" ".join(f"{k}={figures[k].value:.3f}" for k in keys))


if __name__ == "__main__":
    main()
