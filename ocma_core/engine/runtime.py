"""Per-process state of a publishing worker: budgets, claims in flight, and each host's call slots."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from ocma_core.backoff import PUBLISH, Backoff
from ocma_core.db.models import TargetStatus
from ocma_core.engine.budgets import Budgets, MemoryBudgets
from ocma_core.platforms import Platform

log = logging.getLogger(__name__)

INLINE_WAIT_S = 0.5  # longest a publish waits in its slot for a budget, or for a hanging host to move


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass
class Runtime:
    """Per-process state shared by a worker's tasks."""

    worker_id: str
    budgets: Budgets = field(default_factory=MemoryBudgets)
    max_attempts: int = 5
    claim_lease_s: float = 20.0
    backoff_base_s: float = PUBLISH.base_s
    backoff_cap_s: float = PUBLISH.cap_s
    semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    host_calls: dict[str, int] = field(default_factory=dict)  # calls ended per host (progress, for host_slot)
    host_waiters: dict[str, deque[asyncio.Future[None]]] = field(
        default_factory=dict
    )  # per host, oldest first
    _in_flight: set[str] = field(default_factory=set)
    _in_flight_lock: threading.Lock = field(default_factory=threading.Lock)
    # Claimed targets whose task has not reached a host's call slot yet, and who hears when one does (the
    # worker: it claims again once few are left, so its claims keep pace with what the hosts' slots can send).
    # Event loop only.
    unsent: set[str] = field(default_factory=set)
    on_fewer_unsent: Callable[[int], None] | None = None

    def track(self, target_id: str) -> None:
        """Note a claimed target whose task is running (the heartbeat renews only these claims)."""
        with self._in_flight_lock:
            self._in_flight.add(target_id)

    def untrack(self, target_id: str) -> None:
        """The task of this target has ended."""
        with self._in_flight_lock:
            self._in_flight.discard(target_id)

    def claims_in_flight(self) -> list[str]:
        """Targets claimed by this worker with a task really in flight (safe from any thread)."""
        with self._in_flight_lock:
            return list(self._in_flight)

    def sent(self, target_id: str) -> None:
        """This target's task has its host slot, was sent back or ended (on the event loop)."""
        if target_id in self.unsent:
            self.unsent.discard(target_id)
            if self.on_fewer_unsent is not None:
                self.on_fewer_unsent(len(self.unsent))

    def semaphore(self, platform: Platform, host: str) -> asyncio.Semaphore:
        """The concurrency cap of one platform's host (a Mastodon instance, a Bluesky PDS, an API)."""
        key = f"{platform.name} {host}"
        sem = self.semaphores.get(key)
        if sem is None:
            sem = self.semaphores[key] = asyncio.Semaphore(platform.max_concurrency)
        return sem

    async def host_slot(self, platform: Platform, host: str) -> asyncio.Semaphore | None:
        """Take a call slot of `host`; None when the host's calls hang (none ended for INLINE_WAIT_S).

        A host that is only busy (its calls end, slots come free) is waited for, up to a third of the claim
        lease: sending the target back to the queue would cost two writes and a later claim for nothing.
        Waiters sleep until a call of the host ends (end_call wakes the longest waiting one) or their time to
        check for a hanging host comes: no polling.
        """
        sem = self.semaphore(platform, host)
        key = f"{platform.name} {host}"
        now = time.monotonic()
        limit, window, seen = (
            now + max(INLINE_WAIT_S, self.claim_lease_s / 3),
            now,
            self.host_calls.get(key, 0),
        )
        while sem.locked():  # a timed-out acquire must never leak a permit: wait for a wake-up, then take
            now = time.monotonic()
            ended = self.host_calls.get(key, 0)
            if ended != seen:  # the host moves: keep waiting
                window, seen = now, ended
            if now >= limit or now - window >= INLINE_WAIT_S:
                return None
            await self._woken(key, min(limit, window + INLINE_WAIT_S) - now)
        await sem.acquire()  # free: returns at once, with no await in between the check and the take
        return sem

    async def _woken(self, key: str, timeout: float) -> None:
        """Sleep until end_call wakes this waiter or `timeout` seconds pass."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        queue = self.host_waiters.setdefault(key, deque())
        queue.append(waiter)
        timer = loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            if waiter in queue:  # timed out or cancelled: end_call has not taken it off the queue
                queue.remove(waiter)

    def end_call(self, platform: Platform, host: str, sem: asyncio.Semaphore) -> None:
        """Give back a slot taken with host_slot (and count the ended call: the host is not hanging)."""
        key = f"{platform.name} {host}"
        self.host_calls[key] = self.host_calls.get(key, 0) + 1
        sem.release()
        queue = self.host_waiters.get(key)
        while queue:  # wake the longest waiting task still waiting (timed-out ones are done already)
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def backoff(self, attempts: int) -> timedelta:
        """The wait after `attempts` attempts: ocma_core.backoff's publish schedule (equal jitter)."""
        return Backoff(self.backoff_base_s, self.backoff_cap_s).delay(attempts - 1)


@dataclass
class Release:
    """An attempt's budget release, which the thread storing the attempt's finish may run first."""

    call: Callable[[], None]
    done: bool = False
    _taken: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        """Claim the release (True once): the finish's thread and the attempt's `finally` never both release
        (a cancelled attempt's finish may still be running while its `finally` runs)."""
        with self._lock:
            taken, self._taken = self._taken, True
            return not taken

    def run_quietly(self) -> None:
        """Release; on failure hand it back: the attempt's own `finally` tries again and reports it."""
        if not self.take():
            return
        try:
            self.call()
            self.done = True
        except Exception:
            with self._lock:
                self._taken = False
            log.debug("budget release after the finish failed; retried by the attempt", exc_info=True)


RELEASE: ContextVar[Release | None] = ContextVar("ocma_budget_release", default=None)


@dataclass
class HostSlot:
    """A host's call slot held by one attempt (Runtime.host_slot), given back once."""

    runtime: Runtime
    platform: Platform
    host: str
    sem: asyncio.Semaphore
    held: bool = True

    def give_back(self) -> None:
        """Free the slot for the host's next call (again: nothing)."""
        if self.held:
            self.held = False
            self.runtime.end_call(self.platform, self.host, self.sem)


SLOT: ContextVar[HostSlot | None] = ContextVar("ocma_host_slot", default=None)


@contextmanager
def holding(slot: HostSlot) -> Iterator[None]:
    """Run an attempt holding `slot` (calls_over in it gives the slot back early); given back at the end."""
    token = SLOT.set(slot)
    try:
        yield
    finally:
        SLOT.reset(token)
        slot.give_back()


def calls_over() -> None:
    """The attempt in this context makes no more platform calls: its host slot goes to the next call now, not
    after the attempt's state is stored (a slot bounds calls in flight, not database writes). Call it on the
    event loop, never from a thread: the slot is an asyncio semaphore."""
    slot = SLOT.get()
    if slot is not None:
        slot.give_back()


def back_status(needs_lookup: bool) -> TargetStatus:
    """Where a target given back goes: unconfirmed (look up first) when a call may have landed."""
    return TargetStatus.UNCONFIRMED if needs_lookup else TargetStatus.QUEUED


__all__ = [
    "INLINE_WAIT_S",
    "RELEASE",
    "SLOT",
    "HostSlot",
    "Release",
    "Runtime",
    "back_status",
    "calls_over",
    "holding",
]
