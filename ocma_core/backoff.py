"""Every retry schedule of OCMA in one place: exponential backoff, capped, with or without jitter.

The delay before retry number `n` (0 for the first retry) is `min(cap, base * 2**n)`; with jitter it is a
uniform draw from [delay / 2, delay] ("equal jitter": retries of many workers spread out, and none comes
sooner than half the schedule). Jitter is spreading, not data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """An exponential schedule: `base_s` doubled per retry, at most `cap_s`, optionally jittered."""

    base_s: float
    cap_s: float
    jitter: bool = True

    def ceiling_s(self, retry: int) -> float:
        """The un-jittered delay before retry number `retry` (0-based)."""
        return float(min(self.cap_s, self.base_s * 2 ** min(max(retry, 0), 62)))

    def delay_s(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0-based)."""
        ceiling = self.ceiling_s(retry)
        return random.uniform(ceiling / 2, ceiling) if self.jitter else ceiling

    def delay(self, retry: int) -> timedelta:
        """`delay_s` as a timedelta."""
        return timedelta(seconds=self.delay_s(retry))


# A publish that failed transiently (retry n after n+1 attempts): 2 s, 4 s, ... at most 5 minutes.
PUBLISH = Backoff(base_s=2.0, cap_s=300.0)
# One HTTP call to an AI provider without a Retry-After: 0.5 s, 1 s, ... at most 20 s.
AI_CALL = Backoff(base_s=0.5, cap_s=20.0)
# A metrics collection that failed: 10 min, 20 min, ... at most 12 h (no jitter: rounds are already spread).
METRICS = Backoff(base_s=600.0, cap_s=12 * 3600.0, jitter=False)
