"""The live feed's shared reader: many subscribers of one workspace cost one log read per batch, a
subscriber whose bounded queue overflowed reads what it missed from the log (all events, in order, once), and
the reader ends when its last subscriber leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_event_stream import _store

from ocma_core.api import event_hub
from ocma_core.api.event_feed import follow_log
from ocma_core.context import Ocma
from ocma_core.events import Event


async def _never_gone() -> bool:
    return False


async def _take(feed: Any, count: int) -> list[Event]:
    got: list[Event] = []
    async for event in feed:
        if event is not None:
            got.append(event)
            if len(got) == count:
                break
    await feed.aclose()
    return got


def test_many_subscribers_share_one_reader(ocma: Ocma, workspace_id: str, monkeypatch: Any) -> None:
    """20 subscribers, 5 events: the reader reads per wake-up, a subscriber only for its catch-up once it has
    subscribed (reading per subscriber and event would be 100 reads). Reads are told apart by who made them,
    not counted in a window: a loaded machine may still be running the subscribers' catch-up reads when the
    events are stored."""
    import contextvars

    from ocma_core import eventlog

    in_reader = contextvars.ContextVar("in_reader", default=False)
    reads: list[bool] = []
    real_read, real_read_new = eventlog.read, event_hub._Reader._read_new

    def counting_read(*args: Any, **kwargs: Any) -> list[Event]:
        reads.append(in_reader.get())  # asyncio.to_thread carries the caller's context into the thread
        return real_read(*args, **kwargs)

    async def reader_read_new(self: Any) -> None:
        token = in_reader.set(True)
        try:
            await real_read_new(self)
        finally:
            in_reader.reset(token)

    monkeypatch.setattr(event_hub._Reader, "_read_new", reader_read_new)

    async def run() -> list[list[Event]]:
        feeds = [follow_log(ocma, workspace_id, 0, set(), follow=True, gone=_never_gone) for _ in range(20)]
        tasks = [asyncio.create_task(_take(f, 5)) for f in feeds]
        while event_hub.subscribers() < 20:
            await asyncio.sleep(0.01)
        monkeypatch.setattr(eventlog, "read", counting_read)
        await asyncio.to_thread(
            lambda: [_store(ocma, workspace_id, "post.published", f"p{i}") for i in range(5)]
        )
        got = await asyncio.gather(*tasks)
        assert event_hub.subscribers() == 0
        return got

    got = asyncio.run(run())
    assert all([e.seq for e in events] == [1, 2, 3, 4, 5] for events in got)
    by_reader = reads.count(True)
    assert 1 <= by_reader <= 6  # one per wake-up (at most one per event), and the poll that may fall due
    assert len(reads) - by_reader <= 20  # at most each subscriber's one catch-up after subscribing


def test_an_overflowing_subscriber_reads_what_it_missed(
    ocma: Ocma, workspace_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_hub, "QUEUE", 2)
    kinds = ["post.published", "post.failed"] * 10

    async def slow_take(feed: Any, count: int, gate: asyncio.Event) -> list[Event]:
        got: list[Event] = []
        async for event in feed:
            if event is not None:
                got.append(event)
                if len(got) == 1:
                    await gate.wait()  # meanwhile the reader offers 20 events to a queue of 2
                if len(got) == count:
                    break
        await feed.aclose()
        return got

    async def run() -> tuple[list[Event], bool]:
        gate = asyncio.Event()
        feed = follow_log(ocma, workspace_id, 0, {"post.failed"}, follow=True, gone=_never_gone)
        task = asyncio.create_task(slow_take(feed, 11, gate))
        while event_hub.subscribers() < 1:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(_store, ocma, workspace_id, "post.failed", "first")
        await asyncio.to_thread(lambda: [_store(ocma, workspace_id, k, f"p{i}") for i, k in enumerate(kinds)])
        while any(r.cursor < 21 for r in event_hub._readers.values()):
            await asyncio.sleep(0.01)
        overflowed = any(sub.lagging for r in event_hub._readers.values() for sub in r.subs)
        gate.set()
        return await task, overflowed

    got, overflowed = asyncio.run(run())
    assert overflowed
    assert [e.payload["post_id"] for e in got] == ["first"] + [f"p{i}" for i in range(1, 20, 2)]
    assert [e.seq for e in got] == [1, *range(3, 22, 2)]
