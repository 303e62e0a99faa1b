"""Blocking calls of the publish path run in threads without a hand-off per call.

`asyncio.to_thread` pays, per call, an executor submit, a concurrent future chained to an asyncio one, and the
chain's callbacks; in a publishing worker that was a tenth of the event loop's time (two hand-offs per post:
the budget reservation and the finish). A `Lanes` object queues the calls instead: up to `lanes` drains, each
on a thread of the event loop's default executor, take them one at a time and set each caller's asyncio future
directly. A host's answers arrive together, so calls come in bursts, and one drain takes a burst with one
start-up.

The drains run on the default executor, so the database work in them counts against the same threads as the
rest (a worker sizes that executor to leave one pooled connection for its heartbeat). Each call runs in its
own context copy, as with `to_thread`. A call whose caller was cancelled before it started is skipped, as with
`to_thread`, unless it is run with `even_if_cancelled` (a finish must be stored whatever happens to the task
waiting for it). A drain takes one call at a time, so a call that hangs holds up its own drain only: the others
go on taking the queue.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Call(Generic[T]):
    context: contextvars.Context
    fn: Callable[[], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    even_if_cancelled: bool


class Lanes:
    """Up to `lanes` drains run queued blocking calls (see the module docstring)."""

    def __init__(self, lanes: int = 4) -> None:
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        self.lanes = lanes
        self._reset()
        _ALL.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Call[Any]] = deque()
        self._active = 0

    async def run(self, fn: Callable[[], T], *, even_if_cancelled: bool = False) -> T:
        """Run `fn()` in a lane and return its result (or raise its exception) on the event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        call = _Call(contextvars.copy_context(), fn, loop, future, even_if_cancelled)
        with self._lock:
            self._queue.append(call)
            start = self._active < self.lanes
            if start:
                self._active += 1
        if start:
            try:
                loop.run_in_executor(None, self._drain)
            except BaseException:  # no thread to run it (the executor is shut down): take the call back
                with self._lock:
                    self._active -= 1
                    if call in self._queue:
                        self._queue.remove(call)
                raise
        return await future

    def _take(self) -> _Call[Any] | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            self._active -= (
                1  # under the lock: a call queued after this is seen by `run`, which starts a drain
            )
            return None

    def _drain(self) -> None:
        """Run queued calls one at a time until the queue is empty."""
        while (call := self._take()) is not None:
            if call.future.cancelled() and not call.even_if_cancelled:
                continue  # nobody waits for it, and it had not started: as to_thread, it is not run
            try:
                outcome: tuple[Any, BaseException | None] = (call.context.run(call.fn), None)
            except BaseException as exc:  # handed to the caller, as to_thread does
                outcome = (None, exc)
            try:
                call.loop.call_soon_threadsafe(_deliver, call.future, *outcome)
            except RuntimeError:  # that loop has closed: nobody waits for this result any more
                pass


def _deliver(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


_ALL: weakref.WeakSet[Lanes] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's threads: its lanes start empty, with no drain counted."""
    for lanes in list(_ALL):
        lanes._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)

# The publish path's two per-post hand-offs: the budget reservation (Redis) and the finish (the database).
BUDGETS = Lanes()
FINISHES = Lanes()
