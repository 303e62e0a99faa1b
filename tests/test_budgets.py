"""Rate budgets: probe first, then spend what the platform says is left, wait for the reset, honour 429s."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests_support import REDIS_URL, need_service

from ocma_core.engine.budgets import RESET_MARGIN_S, Budgets, MemoryBudgets, RedisBudgets
from ocma_core.platforms import RateBudget, RateLimitInfo


@pytest.fixture(params=["memory", "redis"])
def budgets(request: pytest.FixtureRequest) -> Iterator[Budgets]:
    if request.param == "memory":
        yield MemoryBudgets()
        return
    need_service("redis", REDIS_URL)
    redis_budgets = RedisBudgets(REDIS_URL)
    redis_budgets.client.flushdb()
    yield redis_budgets


def _info(key: str, remaining: int, reset: float) -> dict[str, RateLimitInfo]:
    return {key: RateLimitInfo("account", "publish", 10, remaining, datetime.fromtimestamp(reset, UTC))}


def test_probe_then_spend_then_wait(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    assert budgets.try_acquire([key], [None], "a") == 0
    assert budgets.try_acquire([key], [None], "b") > 0  # unknown bucket: one probe at a time
    reset = time.time() + 30
    budgets.release([key], [None], _info(key, 2, reset), None, "a")
    assert budgets.try_acquire([key], [None], "c") == 0
    assert budgets.try_acquire([key], [None], "d") == 0
    wait = budgets.try_acquire([key], [None], "e")  # 2 left, 2 in flight
    assert wait > 0
    budgets.release([key], [None], _info(key, 0, reset), None, "c")
    budgets.release([key], [None], _info(key, 0, reset), None, "d")
    assert 25 < budgets.try_acquire([key], [None], "f") <= 30 + RESET_MARGIN_S


def test_rate_limited_blocks_until_retry_time(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    assert budgets.try_acquire([key], [None], "a") == 0
    budgets.release([key], [None], {}, time.time() + 5, "a")
    assert 4 < budgets.try_acquire([key], [None], "b") <= 5 + RESET_MARGIN_S


def test_declared_budget_when_no_headers(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    declared = [RateBudget("publish", "account", 2, 60)]
    assert budgets.try_acquire([key], declared, "a") == 0
    budgets.release([key], declared, {}, None, "a")  # no headers: count against the documented 2/min
    assert budgets.try_acquire([key], declared, "b") == 0
    budgets.release([key], declared, {}, None, "b")
    assert budgets.try_acquire([key], declared, "c") > 50


def test_bucket_without_limits_opens_after_probe(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    assert budgets.try_acquire([key], [None], "a") == 0
    budgets.release([key], [None], {}, None, "a")  # no headers, nothing documented
    assert all(budgets.try_acquire([key], [None], f"x{i}") == 0 for i in range(20))


def test_lost_first_reply_is_probed_again_not_assumed(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    declared = [RateBudget("publish", "account", 5, 900)]  # documented: 5 per 15 minutes
    assert budgets.try_acquire([key], declared, "a") == 0
    budgets.release([key], declared, {}, None, "a", answered=False)  # the reply never came
    assert budgets.try_acquire([key], declared, "b") == 0  # probe again at once
    assert budgets.try_acquire([key], declared, "c") > 0  # ...one at a time: the bucket is still unknown
    # The platform's real window is 2 s, far sooner than the documented 15 minutes.
    reset = time.time() + 2
    budgets.release([key], declared, _info(key, 1, reset), None, "b")
    assert budgets.try_acquire([key], declared, "d") == 0
    budgets.release([key], declared, _info(key, 0, reset), None, "d")
    assert 2 < budgets.try_acquire([key], declared, "e") <= 2 + RESET_MARGIN_S


def test_headers_replace_a_window_counted_from_the_documentation(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    declared = [RateBudget("publish", "account", 300, 900)]
    assert budgets.try_acquire([key], declared, "a") == 0
    budgets.release([key], declared, {}, None, "a")  # answered without headers: 299 left for 15 minutes
    assert budgets.try_acquire([key], declared, "b") == 0
    reset = time.time() + 3  # then the platform tells its real window
    budgets.release([key], declared, _info(key, 0, reset), None, "b")
    assert 3 < budgets.try_acquire([key], declared, "c") <= 3 + RESET_MARGIN_S


def test_a_reset_is_trusted_only_after_a_safety_margin(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    assert budgets.try_acquire([key], [None], "a") == 0
    just_passed = time.time() - RESET_MARGIN_S / 4  # the platform's reset may be a little late
    budgets.release([key], [None], _info(key, 0, just_passed), None, "a")
    wait = budgets.try_acquire([key], [None], "b")
    assert 0 < wait <= RESET_MARGIN_S * 3 / 4 + 0.05
    other = f"p:{uuid.uuid4().hex}:publish"
    assert budgets.try_acquire([other], [None], "c") == 0
    budgets.release([other], [None], _info(other, 0, time.time() - RESET_MARGIN_S - 0.1), None, "c")
    assert budgets.try_acquire([other], [None], "d") == 0  # well past the margin: a new window, probed


def test_an_attempt_that_only_looked_up_teaches_nothing(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    declared = [RateBudget("publish", "account", 300, 900)]  # documented: 300 per 15 minutes
    assert budgets.try_acquire([key], declared, "look") == 0
    # The attempt found its post by a read and made no publish call: no headers, but nothing was spent either.
    budgets.release([key], declared, {}, None, "look", spent=False)
    assert budgets.try_acquire([key], declared, "probe") == 0  # still unknown: one probe...
    assert budgets.try_acquire([key], declared, "other") > 0  # ...at a time, not 299 assumed from the docs
    reset = time.time() + 2
    budgets.release([key], declared, _info(key, 0, reset), None, "probe")
    assert budgets.try_acquire([key], declared, "after") > 1  # the real window is spent


def test_a_look_up_does_not_spend_a_known_window(budgets: Budgets) -> None:
    key = f"p:{uuid.uuid4().hex}:publish"
    reset = time.time() + 60
    assert budgets.try_acquire([key], [None], "a") == 0
    budgets.release([key], [None], _info(key, 1, reset), None, "a")
    assert budgets.try_acquire([key], [None], "look") == 0
    budgets.release([key], [None], {}, None, "look", spent=False)
    assert budgets.try_acquire([key], [None], "b") == 0  # the one call left is still there


def test_scripts_survive_a_redis_script_flush() -> None:
    """The budgets' and the queue's Lua scripts go by EVALSHA; after a Redis restart or SCRIPT FLUSH they are
    loaded again on the NOSCRIPT answer, and the call still does its work."""
    from ocma_core.engine.queue import RedisQueue

    need_service("redis", REDIS_URL)
    budgets = RedisBudgets(REDIS_URL)
    budgets.client.flushdb()
    key = f"p:{uuid.uuid4().hex}:publish"
    assert budgets.try_acquire([key], [None], "a") == 0
    budgets.client.script_flush()
    assert budgets.try_acquire([key], [None], "b") > 0  # the probe "a" is still out: the script ran
    budgets.client.script_flush()
    budgets.release([key], [None], _info(key, 5, time.time() + 30), None, "a")
    assert budgets.try_acquire([key], [None], "c") == 0
    queue = RedisQueue(REDIS_URL, "ocma-test-scripts:")
    queue.push("t1", datetime.now(UTC))
    budgets.client.script_flush()
    assert queue.pop_due(5) == ["t1"]
