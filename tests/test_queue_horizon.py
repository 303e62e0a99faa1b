"""The queue holds only what comes due soon; the reconciler brings the rest back in time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from tests_support import REDIS_URL, need_service

from ocma_core.db.types import utcnow
from ocma_core.engine.queue import AHEAD_S, MemoryQueue, RedisQueue, WorkQueue
from ocma_core.engine.worker import FULL_PUSH_S, HORIZON, IDLE_POLL_S, MIN_NAP_S, POLL_S, nap_length


@pytest.fixture(params=["memory", "redis"])
def queue(request: pytest.FixtureRequest) -> Iterator[WorkQueue]:
    if request.param == "memory":
        yield MemoryQueue()
        return
    need_service("redis", REDIS_URL)
    redis_queue = RedisQueue(REDIS_URL, prefix="ocma-test-horizon:")
    redis_queue.client.delete(redis_queue.key)
    yield redis_queue
    redis_queue.client.delete(redis_queue.key)


def test_only_what_comes_due_soon_is_held(queue: WorkQueue) -> None:
    now = utcnow()
    queue.push_many([(f"later-{i}", now + timedelta(days=7, minutes=i)) for i in range(1000)])
    queue.push_many([("soon", now + timedelta(seconds=5)), ("due", now - timedelta(seconds=1))])
    assert queue.depth() == 2  # a week's backlog costs no queue memory
    assert queue.pop_due(10) == ["due"]


def test_a_post_moved_far_ahead_leaves_the_queue(queue: WorkQueue) -> None:
    now = utcnow()
    queue.push("moved", now - timedelta(seconds=1))
    queue.push("moved", now + timedelta(days=1))
    assert queue.depth() == 0 and queue.pop_due(10) == []


def test_pushing_the_same_window_again_adds_nothing() -> None:
    queue = MemoryQueue()
    window = [(f"t{i}", utcnow() + timedelta(seconds=30)) for i in range(100)]
    for _ in range(50):  # the reconciler re-pushes its window
        queue.push_many(window)
    assert queue.depth() == 100 and len(queue._heap) == 100


def test_the_reconciler_window_reaches_past_its_refresh_period() -> None:
    # Each target enters the reconciler's window at least FULL_PUSH_S before it is due, so a full push (at
    # least every FULL_PUSH_S) puts it on the queue in time, and the queue keeps what the window holds.
    assert HORIZON.total_seconds() >= 2 * FULL_PUSH_S and HORIZON.total_seconds() <= AHEAD_S


def test_a_take_tells_when_the_next_entry_falls_due(queue: WorkQueue) -> None:
    """take() hands out the due ids and the wait until the earliest entry left, in the same round trip."""
    now = utcnow()
    queue.push_many([("due", now - timedelta(seconds=1)), ("soon", now + timedelta(seconds=30))])
    queue.push("moved", now + timedelta(seconds=5))
    queue.push("moved", now + timedelta(seconds=50))  # superseded: its earlier entry does not count
    ids, next_in = queue.take(10)
    assert ids == ["due"]
    assert next_in is not None and 25 < next_in <= 30
    queue.push("sooner", now + timedelta(seconds=10))
    assert 5 < (queue.take(10)[1] or 0) <= 10
    assert queue.pop_due(10) == []  # nothing due: taking changed nothing
    assert queue.depth() == 3


def test_an_empty_take_has_no_next_entry(queue: WorkQueue) -> None:
    assert queue.take(10) == ([], None)


@pytest.mark.parametrize(
    ("idle", "next_in", "expected"),
    [
        (0.0, None, POLL_S),  # something was just found: the short wait
        (IDLE_POLL_S, None, IDLE_POLL_S),  # an idle, empty queue: the long wait
        (IDLE_POLL_S, 0.05, 0.05),  # a post falls due sooner: wake for it
        (IDLE_POLL_S, 30.0, IDLE_POLL_S),  # still far off: look again after the usual wait
        (0.0, 0.0, MIN_NAP_S),  # due already (another worker's entry): look again soon, never spin
        (IDLE_POLL_S, -0.5, MIN_NAP_S),  # fell due while this worker claimed: the shortest wait
    ],
)
def test_the_worker_naps_until_the_next_post_falls_due(
    idle: float, next_in: float | None, expected: float
) -> None:
    assert nap_length(idle, next_in) == expected


def test_a_take_over_resp3_sees_an_empty_queue_as_empty() -> None:
    """Over RESP3 (`?protocol=3` in the URL) too, an empty queue reads as empty, never as "due now" (the worker
    would look again at once, forever)."""
    need_service("redis", REDIS_URL)
    sep = "&" if "?" in REDIS_URL else "?"
    queue = RedisQueue(f"{REDIS_URL}{sep}protocol=3", prefix="ocma-test-resp3:")
    queue.client.delete(queue.key)
    assert queue.take(10) == ([], None)
    queue.push("later", utcnow() + timedelta(seconds=30))
    ids, next_in = queue.take(10)
    assert ids == [] and next_in is not None and 25 < next_in <= 30
    queue.client.delete(queue.key)
