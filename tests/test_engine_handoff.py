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
    lanes = Lanes("t-results", 2)

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
    lanes = Lanes("t-count", 3)
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
    assert 1 <= most <= 3 and len(names) <= 3
    assert all(name.startswith("ocma-t-count") for name in names)


def test_a_hanging_call_holds_up_only_its_own_lane() -> None:
    lanes = Lanes("t-hang", 2)
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


def test_a_call_whose_caller_was_cancelled_still_runs() -> None:
    """A finish must be stored even when the task waiting for it is cancelled (as with to_thread)."""
    lanes = Lanes("t-cancel", 1)
    gate, ran = threading.Event(), threading.Event()

    def store() -> None:
        gate.wait(30)
        ran.set()

    async def main() -> None:
        task = asyncio.ensure_future(lanes.run(store))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate.set()
        await asyncio.to_thread(ran.wait, 30)

    asyncio.run(main())
    assert ran.is_set()


def test_one_lanes_object_serves_one_event_loop_after_another() -> None:
    lanes = Lanes("t-loops", 2)

    async def main(tag: str) -> list[str]:
        return list(
            await asyncio.gather(*(lanes.run(functools.partial(str.__add__, tag, str(i))) for i in range(10)))
        )

    assert asyncio.run(main("a")) == [f"a{i}" for i in range(10)]
    assert asyncio.run(main("b")) == [f"b{i}" for i in range(10)]


def test_lanes_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Lanes("t-none", 0)
