"""Lanes (ocma_core.engine.handoff): blocking calls run in a few threads and answer on the event loop, like
asyncio.to_thread, with one hanging call holding up only its own lane."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading

import pytest

from ocma_core.engine.handoff import Lanes

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_results_errors_and_context_come_back_to_each_caller() -> None:
    lanes = Lanes(2)

    def square(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n * n

    async def one(n: int) -> object:
        WHO.set(f"caller {n}")
        try:
            value = await lanes.run(lambda: (square(n), WHO.get()))
        except ValueError as exc:
            return str(exc)
        return value

    async def main() -> list[object]:
        return list(await asyncio.gather(*(one(n) for n in range(6))))

    assert asyncio.run(main()) == [
        (0, "caller 0"),
        (1, "caller 1"),
        (4, "caller 2"),
        "three",
        (16, "caller 4"),
        (25, "caller 5"),
    ]


def test_no_more_threads_than_lanes_run_the_calls() -> None:
    lanes = Lanes(3)
    running, most, guard = 0, 0, threading.Lock()
    names: set[str] = set()

    def work() -> None:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
            names.add(threading.current_thread().name)
        threading.Event().wait(0.002)
        with guard:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(lanes.run(work) for _ in range(60)))

    asyncio.run(main())
    assert 1 <= most <= 3 and names


def test_a_hanging_call_holds_up_only_its_own_lane() -> None:
    lanes = Lanes(2)
    hang, hanging = threading.Event(), threading.Event()

    def stuck() -> str:
        hanging.set()
        hang.wait(30)
        return "late"

    async def main() -> tuple[list[int], str]:
        first = asyncio.ensure_future(lanes.run(stuck))
        await asyncio.to_thread(hanging.wait, 30)
        done = [await lanes.run(functools.partial(int, n)) for n in range(5)]  # the other lane takes these
        hang.set()
        return done, await first

    assert asyncio.run(main()) == ([0, 1, 2, 3, 4], "late")


@pytest.mark.parametrize("even_if_cancelled", [True, False])
def test_a_call_whose_caller_was_cancelled_before_it_started(even_if_cancelled: bool) -> None:
    """Skipped, as with to_thread; run anyway when asked (a finish must be stored whatever happens to the
    task waiting for it)."""
    lanes = Lanes(1)
    gate, started, ran = threading.Event(), threading.Event(), threading.Event()

    def blocker() -> None:
        started.set()
        gate.wait(30)

    async def main() -> None:
        first = asyncio.ensure_future(lanes.run(blocker))
        await asyncio.to_thread(started.wait, 30)  # the only lane is busy: the next call waits in the queue
        task = asyncio.ensure_future(lanes.run(ran.set, even_if_cancelled=even_if_cancelled))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate.set()
        await first
        await lanes.run(int)  # queued after it: once this ran, the cancelled one was run or skipped

    asyncio.run(main())
    assert ran.is_set() is even_if_cancelled


def test_one_lanes_object_serves_one_event_loop_after_another() -> None:
    lanes = Lanes(2)

    async def main(tag: str) -> list[str]:
        return list(
            await asyncio.gather(*(lanes.run(functools.partial(str.__add__, tag, str(i))) for i in range(10)))
        )

    assert asyncio.run(main("a")) == [f"a{i}" for i in range(10)]
    assert asyncio.run(main("b")) == [f"b{i}" for i in range(10)]


def test_lanes_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Lanes(0)


def test_a_budget_release_runs_once_whoever_asks_first() -> None:
    """The finish's thread and a cancelled attempt's own `finally` may both reach for it."""
    from ocma_core.engine.runtime import Release

    calls: list[int] = []
    release = Release(lambda: calls.append(1))
    assert release.take() is True
    release.run_quietly()  # the attempt took it: the finish's thread does nothing
    assert calls == [] and release.take() is False

    attempts: list[int] = []

    def broken() -> None:
        attempts.append(1)
        raise ConnectionError("redis went away")

    failing = Release(broken)
    failing.run_quietly()
    assert attempts == [1] and not failing.done and failing.take() is True  # handed back for the retry
