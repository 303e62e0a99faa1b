"""Rate budgets that count their waits (ocma_rate_budget_waits_total and _wait_seconds_total)."""

from __future__ import annotations

from ocma_core.engine.budgets import Budgets, CallResult
from ocma_core.observe.instruments import RATE_WAIT_SECONDS, RATE_WAITS, platform_of_bucket
from ocma_core.platforms import RateBudget


class MeteredBudgets(Budgets):
    """Wraps any Budgets; a call told to wait is counted against its platform."""

    def __init__(self, inner: Budgets) -> None:
        self.inner = inner
        self.blocking: bool = getattr(inner, "blocking", False)

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None], lease: str = "") -> float:
        """Reserve, counting a wait."""
        wait = self.inner.try_acquire(keys, declared, lease)
        if wait > 0 and keys:
            platform = platform_of_bucket(keys[0])
            RATE_WAITS.labels(platform).inc()
            RATE_WAIT_SECONDS.labels(platform).inc(wait)
        return wait

    def settle(
        self, keys: list[str], declared: list[RateBudget | None], result: CallResult, lease: str
    ) -> None:
        """Release through the wrapped budgets (their `release`, which a subclass may override)."""
        r = result
        self.inner.release(keys, declared, r.observed, r.blocked_until, lease, r.answered, r.spent)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)  # snapshot(), client, ... of the wrapped budgets
