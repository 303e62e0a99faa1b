"""Rate budgets per platform app and per account, learnt from the platform's declared limits and headers.

Before anything is known about a bucket, only one call is in flight (a probe); afterwards calls go out
while `remaining - in_flight > 0`, and wait for the reset time when the budget is spent. A 429 spends
the budget until the platform's retry time. So a backlog drains at the allowed rate without 429s.

A probe that got no answer (a timeout) teaches nothing: the bucket stays unknown and the next call probes
again, instead of assuming the documented window. A budget counted from the documentation (the platform
sent no headers) gives way to the first headers seen. A reset is trusted only RESET_MARGIN_S after its
time, since a platform's clock or rounding may put its real reset a little later than it says.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ocma_core.engine.lua import LuaScript
from ocma_core.platforms import AccountContext, RateBudget, RateLimitInfo

T = TypeVar("T")

if TYPE_CHECKING:
    from ocma_core.platforms import Platform

PROBE_WAIT_S = 0.02
RESET_MARGIN_S = 1.0


@dataclass
class BucketState:
    """What is known about one bucket."""

    remaining: int | None = None
    reset_at: float | None = None
    in_flight: int = 0
    open: bool = False  # probed: the platform states no limit for this bucket, so no single-flight
    assumed: bool = False  # counted from the documented budget, not read from the platform's headers


def bucket_key(platform: str, scope: str, account_id: str, bucket: str) -> str:
    """The key of a bucket: per account, or per platform app."""
    owner = account_id if scope == "account" else "app"
    return f"{platform}:{owner}:{bucket}"


def platform_buckets(
    platform: Platform, account_id: str, purpose: str, pick: Callable[[RateBudget], bool] = lambda b: True
) -> tuple[list[str], list[RateBudget | None]]:
    """The account and app bucket keys for one kind of call, with the first documented budget `pick` accepts."""
    keys: list[str] = []
    declared: list[RateBudget | None] = []
    for scope in ("account", "app"):
        keys.append(bucket_key(platform.name, scope, account_id, purpose))
        declared.append(next((b for b in platform.rate_budgets if b.scope == scope and pick(b)), None))
    return keys, declared


def observed_limits(
    platform_name: str, account_id: str, contexts: Iterable[AccountContext], purpose: str
) -> dict[str, RateLimitInfo]:
    """The last rate-limit reading of each scope that `send()` recorded on the calls' contexts."""
    found: dict[str, RateLimitInfo] = {}
    for ctx in contexts:
        for info in ctx.settings.get("_rate_limits", []):
            found[bucket_key(platform_name, info.scope, account_id, purpose)] = info
    return found


def answered(exc: BaseException) -> bool:
    """Whether a failed call got a reply from the platform (an error status), not a timeout or a lost link."""
    from ocma_core.errors import PlatformError, Unconfirmed

    return isinstance(exc, PlatformError) and not isinstance(exc, Unconfirmed) and exc.status is not None


@dataclass(frozen=True)
class CallResult:
    """What one call told its buckets: readings, a 429's retry time, whether a reply came and a call was made."""

    observed: dict[str, RateLimitInfo]
    blocked_until: float | None
    answered: bool = True
    spent: bool = True


class Budgets(Protocol):
    """Reserve and release calls against rate buckets."""

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None], lease: str = "") -> float:
        """Reserve one call in every bucket, or return how many seconds to wait (reserving nothing)."""

    def release(
        self,
        keys: list[str],
        declared: list[RateBudget | None],
        observed: dict[str, RateLimitInfo],
        blocked_until: float | None,
        lease: str = "",
        answered: bool = True,
        spent: bool = True,
    ) -> None:
        """Return the reservation and record what the platform said (`answered`: False when no reply came;
        `spent`: False when no call in these buckets was made, e.g. an attempt that only looked a post up)."""
        self.settle(keys, declared, CallResult(observed, blocked_until, answered, spent), lease)

    def settle(
        self, keys: list[str], declared: list[RateBudget | None], result: CallResult, lease: str
    ) -> None:
        """Return the reservation and apply `result` (what `release` was told)."""


class MemoryBudgets(Budgets):
    """Budgets shared by the tasks of one process."""

    def __init__(self) -> None:
        self._state: dict[str, BucketState] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str, now: float) -> BucketState:
        state = self._state.setdefault(key, BucketState())
        if state.reset_at is not None and now >= state.reset_at + RESET_MARGIN_S:
            state.remaining, state.reset_at, state.assumed = None, None, False
        return state

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None], lease: str = "") -> float:
        """Reserve in all buckets or none."""
        now = time.time()
        with self._lock:
            states = [self._bucket(k, now) for k in keys]
            wait = 0.0
            for state in states:
                if state.remaining is None:
                    if state.in_flight > 0 and not state.open:
                        wait = max(wait, PROBE_WAIT_S)
                elif state.remaining - state.in_flight <= 0:
                    until = (state.reset_at + RESET_MARGIN_S - now) if state.reset_at else PROBE_WAIT_S
                    wait = max(wait, until, PROBE_WAIT_S)
            if wait > 0:
                return wait
            for state in states:
                state.in_flight += 1
            return 0.0

    def settle(
        self, keys: list[str], declared: list[RateBudget | None], result: CallResult, lease: str
    ) -> None:
        """Apply observed headers (else the declared budget); a 429 blocks the buckets until `blocked_until`."""
        now = time.time()
        with self._lock:
            for key, budget in zip(keys, declared, strict=True):
                state = self._state.setdefault(key, BucketState())
                state.in_flight = max(state.in_flight - 1, 0)
                if result.spent:
                    _apply(
                        state, result.observed.get(key), budget, result.blocked_until, result.answered, now
                    )

    def snapshot(self) -> dict[str, BucketState]:
        """A copy of the state (for `ocma status` and tests)."""
        with self._lock:
            return {
                k: BucketState(v.remaining, v.reset_at, v.in_flight, v.open, v.assumed)
                for k, v in self._state.items()
            }


def _apply(
    state: BucketState,
    info: RateLimitInfo | None,
    budget: RateBudget | None,
    blocked_until: float | None,
    answered: bool,
    now: float,
) -> None:
    """One call's lesson for one bucket (the same rules as the Redis script _RELEASE)."""
    if info is not None and info.remaining is not None:
        reset = info.reset_at.timestamp() if info.reset_at else None
        if state.assumed or state.reset_at is None or reset is None or reset > state.reset_at + 0.5:
            state.remaining, state.reset_at, state.assumed = info.remaining, reset, False  # a new window
        else:
            state.remaining = min(
                state.remaining if state.remaining is not None else info.remaining, info.remaining
            )
    elif state.remaining is None and budget is not None:
        if answered:  # the platform sends no rate headers: count against its documented budget
            state.remaining, state.reset_at, state.assumed = budget.limit - 1, now + budget.window_s, True
        # No answer: nothing learnt. The bucket stays unknown and the next call probes it again.
    elif state.remaining is not None and info is None:
        state.remaining = max(state.remaining - 1, 0)
    elif state.remaining is None and info is None and blocked_until is None and answered:
        state.open = True  # neither headers nor a documented budget: nothing to pace
    if blocked_until is not None:
        state.remaining, state.reset_at, state.assumed = 0, blocked_until, False


_ACQUIRE = """
local now, lease, ttl, probe = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local margin = tonumber(ARGV[5])
local wait = 0
for _, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'remaining', 'reset_at', 'open')
  local remaining, reset, open = tonumber(h[1]), tonumber(h[2]), h[3]
  if reset and now >= reset + margin then
    redis.call('HDEL', key, 'remaining', 'reset_at', 'assumed'); remaining = nil; reset = nil
  end
  redis.call('ZREMRANGEBYSCORE', key .. ':inflight', '-inf', now)
  local inflight = redis.call('ZCARD', key .. ':inflight')
  if remaining == nil then
    if inflight > 0 and not open then wait = math.max(wait, probe) end
  elseif remaining - inflight <= 0 then
    local until_reset = probe
    if reset then until_reset = reset + margin - now end
    wait = math.max(wait, until_reset, probe)
  end
end
if wait > 0 then return tostring(wait) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key .. ':inflight', now + ttl, lease)
  redis.call('EXPIRE', key .. ':inflight', math.ceil(ttl) + 60)
end
return '0'
"""

_RELEASE = """
local lease, now, answered, spent = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', ARGV[4] == '1'
for i, key in ipairs(KEYS) do
  local base = 4 + (i - 1) * 5
  local obs_remaining, obs_reset = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local limit, window, blocked = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5])
  redis.call('ZREM', key .. ':inflight', lease)
  if spent then
  local h = redis.call('HMGET', key, 'remaining', 'reset_at', 'assumed')
  local remaining, reset, assumed = tonumber(h[1]), tonumber(h[2]), h[3] == '1'
  if obs_remaining then
    if assumed or reset == nil or obs_reset == nil or obs_reset > reset + 0.5 then
      remaining, reset = obs_remaining, obs_reset
      redis.call('HDEL', key, 'assumed')
      if reset == nil then redis.call('HDEL', key, 'reset_at') end
    else
      remaining = math.min(remaining or obs_remaining, obs_remaining)
    end
  elseif remaining == nil and limit then
    if answered then
      remaining, reset = limit - 1, now + window
      redis.call('HSET', key, 'assumed', '1')
    end
  elseif remaining ~= nil then
    remaining = math.max(remaining - 1, 0)
  elseif not blocked and answered then
    redis.call('HSET', key, 'open', '1')
    redis.call('EXPIRE', key, 3600)
  end
  if blocked then
    remaining, reset = 0, blocked
    redis.call('HDEL', key, 'assumed')
  end
  if remaining ~= nil then redis.call('HSET', key, 'remaining', remaining) end
  if reset ~= nil then
    redis.call('HSET', key, 'reset_at', reset)
    redis.call('EXPIREAT', key, math.ceil(reset) + 60)
  end
  end
end
return 1
"""


class RedisBudgets(Budgets):
    """Budgets shared by every worker process through Redis (atomic Lua scripts, leases that expire)."""

    blocking = True  # network calls: the engine makes them off the event loop

    def __init__(self, url: str, lease_ttl_s: float = 30.0, prefix: str = "ocma:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._acquire = LuaScript(self.client, _ACQUIRE)
        self._release = LuaScript(self.client, _RELEASE)
        self.lease_ttl_s, self.prefix = lease_ttl_s, prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}budget:{key}"

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None], lease: str = "") -> float:
        """Reserve in all buckets or none."""
        result = self._acquire(
            keys=[self._key(k) for k in keys],
            args=[time.time(), lease, self.lease_ttl_s, PROBE_WAIT_S, RESET_MARGIN_S],
        )
        return float(result.decode() if isinstance(result, bytes) else result)

    def settle(
        self, keys: list[str], declared: list[RateBudget | None], result: CallResult, lease: str
    ) -> None:
        """Apply what the platform said, for every process."""
        answered, spent, blocked_until = result.answered, result.spent, result.blocked_until
        args: list[str | int | float] = [lease, time.time(), "1" if answered else "0", "1" if spent else "0"]
        for key, budget in zip(keys, declared, strict=True):
            info = result.observed.get(key)
            args += [
                "" if info is None or info.remaining is None else info.remaining,
                "" if info is None or info.reset_at is None else info.reset_at.timestamp(),
                "" if budget is None else budget.limit,
                "" if budget is None else budget.window_s,
                "" if blocked_until is None else blocked_until,
            ]
        self._release(keys=[self._key(k) for k in keys], args=args)


async def budget_call(budgets: Budgets, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a method of `budgets`: in a thread when they do I/O (Redis), so a stall never freezes the event
    loop; inline when they are in memory (the order of reservations and releases stays the loop's order)."""
    if getattr(budgets, "blocking", False):
        from ocma_core.engine.handoff import BUDGETS

        return await BUDGETS.run(functools.partial(fn, *args, **kwargs))
    return fn(*args, **kwargs)


def make_budgets(redis_url: str | None, lease_ttl_s: float = 30.0, prefix: str = "ocma:") -> Budgets:
    """Shared budgets with Redis (keys under `prefix`, the installation's namespace), else per-process ones;
    a dead worker's reservations expire after the TTL. Waits are counted (ocma_rate_budget_wait*)."""
    from ocma_core.observe.budgets import MeteredBudgets

    return MeteredBudgets(RedisBudgets(redis_url, lease_ttl_s, prefix) if redis_url else MemoryBudgets())
