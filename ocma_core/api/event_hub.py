"""One reader per workspace and event loop for every live stream of this process: woken when events are
stored (in-process, or through Redis from other processes; it also polls), it reads each new event from the
log once and offers it to each subscriber's bounded queue. A subscriber whose queue is full misses events
there and reads them from the log itself (sequence ids have no gaps, so it always knows what it missed):
1,000 clients cost one read per batch of events, not 1,000, and a slow client never grows memory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ocma_core.context import Ocma
from ocma_core.events import Event

log = logging.getLogger(__name__)
QUEUE = 512  # events a subscriber may have waiting before it reads from the log instead
POLL_S = 5.0  # read the log this often even without a wake-up
PAGE = 500
TICK_S = 1.0  # an idle subscriber is handed None this often (to check its client is there, send heartbeats)
SLICES = 10  # the subscribers are ticked a tenth at a time, so 1,000 of them never all wake at once


@dataclass(eq=False)
class Subscription:
    """A subscriber's queue of new events; `lagging` once an event did not fit."""

    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    lagging: bool = False
    read_up_to: int = 0  # the reader's position when it last offered (or started): events up to it exist
    slot: int = 0  # which slice of the reader's ticks it gets

    def missed(self, cursor: int) -> bool:
        """True when the log holds events past `cursor` that will not come through the queue: it is empty and
        the reader is past them (it started after they were stored, or they did not fit)."""
        return self.lagging or (self.queue.empty() and self.read_up_to > cursor)

    def offer(self, event: Event) -> None:
        """Queue the event, or note that the subscriber must read the log to catch up."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagging = True


class _Reader:
    """The workspace's reader in one event loop."""

    def __init__(self, ocma: Ocma, workspace_id: str) -> None:
        self.ocma, self.workspace_id = ocma, workspace_id
        self.subs: set[Subscription] = set()
        self.slices: list[set[Subscription]] = [set() for _ in range(SLICES)]
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.cursor = 0
        self.task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """Hand each idle subscriber None every TICK_S, a slice of them at a time: one timer for all of them,
        rather than a timeout on every wait of every subscriber (1,000 clients at 100 events/s: 100,000
        timers a second), and never a burst of every subscriber waking at once (it would delay events)."""
        turn = 0
        while self.subs:
            await asyncio.sleep(TICK_S / SLICES)
            for sub in self.slices[turn]:
                if sub.queue.empty():
                    sub.queue.put_nowait(None)
            turn = (turn + 1) % SLICES

    def add(self, sub: Subscription) -> None:
        """Take a subscriber (into the slice with the fewest)."""
        sub.slot = min(range(SLICES), key=lambda n: len(self.slices[n]))
        self.subs.add(sub)
        self.slices[sub.slot].add(sub)

    def discard(self, sub: Subscription) -> None:
        """Let a subscriber go."""
        self.subs.discard(sub)
        self.slices[sub.slot].discard(sub)

    def _waker(self, workspace_id: str, seq: int) -> None:
        if workspace_id == self.workspace_id and seq > self.cursor and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.wake.set)

    async def run(self) -> None:
        """Read and offer new events while anyone subscribes."""
        from ocma_core import eventbus
        from ocma_core.eventlog import last_seq

        stop = eventbus.add_waker(self._waker)
        ticker = asyncio.create_task(self.tick(), name=f"ocma-events-tick-{self.workspace_id}")
        try:
            eventbus.listen(self.ocma)
            self.cursor = await asyncio.to_thread(last_seq, self.ocma, self.workspace_id)
            for sub in self.subs:  # events stored before this reader started are theirs to read from the log
                sub.read_up_to = max(sub.read_up_to, self.cursor)
            while self.subs:
                try:
                    await asyncio.wait_for(self.wake.wait(), POLL_S)
                except TimeoutError:
                    pass
                self.wake.clear()
                await self._read_new()
        finally:
            stop()
            ticker.cancel()
            _readers.pop((id(self.loop), id(self.ocma), self.workspace_id), None)

    async def _read_new(self) -> None:
        from ocma_core.eventlog import read

        while self.subs:
            try:
                batch = await asyncio.to_thread(read, self.ocma, self.workspace_id, self.cursor, None, PAGE)
            except Exception:  # the database is away: subscribers wait, the next wake-up or poll retries
                log.warning("could not read events of workspace %s", self.workspace_id, exc_info=True)
                return
            for event in batch:
                for sub in self.subs:
                    sub.offer(event)
                self.cursor = event.seq or self.cursor
            for sub in self.subs:
                sub.read_up_to = self.cursor
            if len(batch) < PAGE:
                return


_readers: dict[tuple[int, int, str], _Reader] = {}


@asynccontextmanager
async def subscribe(ocma: Ocma, workspace_id: str) -> AsyncIterator[Subscription]:
    """A subscription to the workspace's new events for the duration of the block."""
    key = (id(asyncio.get_running_loop()), id(ocma), workspace_id)
    reader = _readers.get(key)
    if reader is None or reader.task is None or reader.task.done():
        reader = _readers[key] = _Reader(ocma, workspace_id)
    sub = Subscription(read_up_to=reader.cursor)
    reader.add(sub)
    if reader.task is None:
        reader.task = asyncio.create_task(reader.run(), name=f"ocma-events-{workspace_id}")
    try:
        yield sub
    finally:
        reader.discard(sub)
        if not reader.subs:
            reader.wake.set()  # let it see nobody is left and end


def subscribers() -> int:
    """Live subscriptions in this process (for tests and metrics)."""
    return sum(len(r.subs) for r in _readers.values())
