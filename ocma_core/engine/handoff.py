"""Blocking calls of the publish path run in threads without a hand-off per call.

`asyncio.to_thread` pays, per call, an executor submit, a concurrent future chained to an asyncio one, and the
chain's callbacks; in a publishing worker that was a tenth of the event loop's time (two hand-offs per post:
the budget reservation and the finish). A `Lanes` object queues the calls instead: up to `lanes` threads take
them one at a time and set each caller's asyncio future directly. A host's answers arrive together, so calls
come in bursts, and one lane takes a burst with one start-up.

Each call runs in its own context copy, as with `to_thread`, and runs even if its caller is cancelled (a
finish must be stored whatever happens to the task waiting for it). A lane takes one call at a time, so a call
that hangs holds up its own lane only: the other lanes go on taking the queue.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Call(Generic[T]):
    context: contextvars.Context
    fn: Callable[[], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


class Lanes:
    """Up to `lanes` threads run queued blocking calls (see the module docstring)."""

    def __init__(self, name: str, lanes: int = 4) -> None:
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        self.lanes = lanes
        # Its own threads: lanes never wait behind the default executor's work, nor hold up its threads.
        self._threads = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix=f"ocma-{name}")
        self._lock = threading.Lock()
        self._queue: deque[_Call[Any]] = deque()
        self._active = 0

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn()` in a lane and return its result (or raise its exception) on the event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        call = _Call(contextvars.copy_context(), fn, loop, future)
        with self._lock:
            self._queue.append(call)
            start = self._active < self.lanes
            if start:
                self._active += 1
        if start:
            try:
                self._threads.submit(self._drain)
            except BaseException:  # no thread to run it (the interpreter is exiting): take the call back
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
                1  # under the lock: a call queued after this is seen by `run`, which starts a lane
            )
            return None

    def _drain(self) -> None:
        """A lane: run queued calls one at a time until the queue is empty."""
        while (call := self._take()) is not None:
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


# The publish path's two per-post hand-offs: the budget reservation (Redis) and the finish (the database).
BUDGETS = Lanes("budget")
FINISHES = Lanes("finish")
