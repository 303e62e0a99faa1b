"""Rate budgets per platform app and per account, learnt from the platform's declared limits and headers.

Before anything is known about a bucket, only one call is in flight (a probe); afterwards calls go out
while `remaining - in_flight > 0`, and wait for the reset time when the budget is spent. A 429 spends
the budget until the platform's retry time. So a backlog drains at the allowed rate without 429s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from ocma_core.platforms import RateBudget, RateLimitInfo

PROBE_WAIT_S = 0.02


@dataclass
class BucketState:
    """What is known about one bucket."""

    remaining: int | None = None
    reset_at: float | None = None
    in_flight: int = 0


def bucket_key(platform: str, scope: str, account_id: str, bucket: str) -> str:
    """The key of a bucket: per account, or per platform app."""
    owner = account_id if scope == "account" else "app"
    return f"{platform}:{owner}:{bucket}"


class Budgets(Protocol):
    """Reserve and release calls against rate buckets."""

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None]) -> float:
        """Reserve one call in every bucket, or return how many seconds to wait (reserving nothing)."""

    def release(
        self, keys: list[str], declared: list[RateBudget | None], observed: dict[str, RateLimitInfo],
        blocked_until: float | None,
    ) -> None:
        """Return the reservation and record what the platform said."""



class MemoryBudgets:
    """Budgets shared by the tasks of one process."""

    def __init__(self) -> None:
        self._state: dict[str, BucketState] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str, now: float) -> BucketState:
        state = self._state.setdefault(key, BucketState())
        if state.reset_at is not None and now >= state.reset_at:
            state.remaining, state.reset_at = None, None
        return state

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None]) -> float:
        """Reserve in all buckets or none."""
        now = time.time()
        with self._lock:
            states = [self._bucket(k, now) for k in keys]
            wait = 0.0
            for state in states:
                if state.remaining is None:
                    if state.in_flight > 0:
                        wait = max(wait, PROBE_WAIT_S)
                elif state.remaining - state.in_flight <= 0:
                    wait = max(wait, (state.reset_at - now) if state.reset_at else PROBE_WAIT_S, PROBE_WAIT_S)
            if wait > 0:
                return wait
            for state in states:
                state.in_flight += 1
            return 0.0

    def release(
        self, keys: list[str], declared: list[RateBudget | None], observed: dict[str, RateLimitInfo],
        blocked_until: float | None,
    ) -> None:
        """Apply observed headers (else the declared budget); a 429 blocks the buckets until `blocked_until`."""
        now = time.time()
        with self._lock:
            for key, budget in zip(keys, declared, strict=True):
                state = self._state.setdefault(key, BucketState())
                state.in_flight = max(state.in_flight - 1, 0)
                info = observed.get(key)
                if info is not None and info.remaining is not None:
                    reset = info.reset_at.timestamp() if info.reset_at else None
                    if state.reset_at is None or reset is None or reset > state.reset_at + 0.5:
                        state.remaining, state.reset_at = info.remaining, reset  # a new window
                    else:
                        state.remaining = min(state.remaining if state.remaining is not None else info.remaining,
                                              info.remaining)
                elif state.remaining is None and budget is not None:
                    # The platform sends no rate headers: count against its documented budget.
                    state.remaining, state.reset_at = budget.limit - 1, now + budget.window_s
                elif state.remaining is not None and info is None:
                    state.remaining = max(state.remaining - 1, 0)
                if blocked_until is not None:
                    state.remaining, state.reset_at = 0, blocked_until

    def snapshot(self) -> dict[str, BucketState]:
        """A copy of the state (for `ocma status` and tests)."""
        with self._lock:
            return {k: BucketState(v.remaining, v.reset_at, v.in_flight) for k, v in self._state.items()}
