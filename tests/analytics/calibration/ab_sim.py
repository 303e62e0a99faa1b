"""A/A (and A/B) experiments with known truth, for the calibration tests and the benchmark."""

from __future__ import annotations

import math

import numpy as np

from ocma_core.analytics import ab

POST_SD = 0.5  # log-normal post-to-post variation, as in ocma_core.analytics.synthetic
GROWTH = ((1, 0.35), (6, 0.65), (24, 0.85), (72, 0.95), (168, 1.0))  # share of final counts by age (h)


def _post(rng: np.random.Generator, rate: float, exposure: float, lift: float = 1.0) -> tuple[float, float]:
    shown = float(rng.poisson(exposure))
    r = rate * lift * math.exp(rng.normal(0, POST_SD) - POST_SD**2 / 2)
    return float(rng.poisson(shown * r)), shown


def _history(rng: np.random.Generator, accounts: dict[str, tuple[float, float]], n: int) -> ab.History:
    rows = []
    for account, (rate, exposure) in accounts.items():
        rows += [(account, *_post(rng, rate, exposure)) for _ in range(n)]
    return ab.History(rows)


def scenario(name: str, seed: int, lift: float = 1.0) -> dict[str, object]:
    """The arms (and history) of one experiment; `lift` multiplies variant B (1.0: an A/A test)."""
    rng = np.random.default_rng(seed)
    history = None
    if name == "equal":  # three posts per variant on one account, same exposure
        plan = {"a": (0.02, 5000.0)}
        posts = 3
    elif name == "exposure5x":  # one post per variant with 5x the history's exposure; history gives the noise
        plan, posts = {"a": (0.02, 5000.0)}, 1
        history = _history(rng, {"a": (0.02, 1000.0)}, 20)
    elif name == "exposure_fifth":  # one post per variant with a fifth of the history's exposure
        plan, posts = {"a": (0.02, 200.0)}, 1
        history = _history(rng, {"a": (0.02, 1000.0)}, 20)
    elif name == "unequal_accounts":  # each variant once on each of three very different accounts
        plan, posts = {"a": (0.01, 500.0), "b": (0.02, 5000.0), "c": (0.05, 50000.0)}, 1
    else:
        raise ValueError(name)
    arms = []
    for label, mult in (("A", 1.0), ("B", lift)):
        units = [
            ab.Unit(*_post(rng, rate, exposure, mult), account_id=account)
            for account, (rate, exposure) in plan.items()
            for _ in range(posts)
        ]
        arms.append(ab.Arm(label, label, units))
    return {"arms": arms, "history": history}


def decide(name: str, seed: int, lift: float = 1.0) -> dict[str, object]:
    """The rule's decision on one simulated experiment."""
    s = scenario(name, seed, lift)
    return ab.decide(s["arms"], history=s["history"])  # type: ignore[arg-type]


def ages_and_looks(seed: int, horizon: float = 24.0) -> list[str]:
    """A/A: B published 48 h after A, looked at every 12 h for 5 days; the status at each look."""
    rng = np.random.default_rng(seed)
    finals = {label: [_post(rng, 0.02, 5000.0) for _ in range(3)] for label in ("A", "B")}
    offset = {"A": 0.0, "B": 48.0}
    statuses = []
    for look in range(12, 24 * 5 + 1, 12):
        arms = []
        for label, posts in finals.items():
            units = []
            for k, e in posts:
                age = look - offset[label]
                snaps = [(h, k * g, e * g) for h, g in GROWTH if h <= age]
                value = ab.at_age(snaps, horizon)
                units.append(ab.Unit(*(value or (0.0, 1.0)), matured=value is not None))
            arms.append(ab.Arm(label, label, units))
        statuses.append(str(ab.decide(arms, horizon_hours=horizon)["status"]))
    return statuses


SCENARIOS = ("equal", "exposure5x", "exposure_fifth", "unequal_accounts")
