"""The event log: every domain event stored once with a per-workspace sequence id, read back in order, and
handed to consumers (plugins, webhooks) from a stored cursor, so a process that dies mid-delivery loses
nothing: the next one resumes from the cursor (at least once; the sequence id de-duplicates).

Sequence ids come from `eventcounter`, incremented in the transaction that stores the event. The row stays
locked until that transaction ends, so ids are visible in order: a reader that saw seq n never later finds
an n-1 it missed. Consumers take a lease on their cursor (one deliverer per workspace at a time, on SQLite
and PostgreSQL alike) and renew it as they advance.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ocma_core.db.event_models import EventCounter, EventCursor
from ocma_core.db.models import Notification
from ocma_core.db.types import new_id, utcnow

if TYPE_CHECKING:
    from ocma_core.context import Ocma
    from ocma_core.events import Event

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
BATCH = 100
# Plugins are not handed events older than this (a plugin installed after a long quiet spell, or a backlog
# after a long outage, must not flood a Slack channel with history).
PLUGIN_MAX_AGE = timedelta(days=1)


def insert_for(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT support for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def next_seq(session: Session, workspace_id: str) -> int:
    """The next sequence id of the workspace, taken in the caller's transaction (the counter row stays locked
    until it commits, so concurrent writers get consecutive ids in commit order)."""
    stmt = insert_for(session, EventCounter).values(workspace_id=workspace_id, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id"], set_={"last_seq": EventCounter.last_seq + 1}
    ).returning(col(EventCounter.last_seq))
    return int(session.execute(stmt).scalar_one())


def last_seq(ocma: Ocma, workspace_id: str) -> int:
    """The newest sequence id of the workspace (0 when it has no events)."""
    with ocma.session() as session:
        found = session.get(EventCounter, workspace_id)
        return found.last_seq if found is not None else 0


def to_event(row: Notification) -> Event:
    """The Event a stored row describes."""
    from ocma_core.events import Event

    return Event(row.kind, row.workspace_id, dict(row.payload), row.created_at, seq=row.seq)


def read(
    ocma: Ocma, workspace_id: str, after: int = 0, kinds: Iterable[str] | None = None, limit: int = BATCH
) -> list[Event]:
    """Stored events of the workspace with a sequence id above `after`, oldest first (optionally some kinds)."""
    from sqlmodel import select

    query = select(Notification).where(
        Notification.workspace_id == workspace_id, col(Notification.seq) > after
    )
    wanted = list(kinds or [])
    if wanted:
        query = query.where(col(Notification.kind).in_(wanted))
    with ocma.session() as session:
        rows = session.exec(query.order_by(col(Notification.seq)).limit(limit)).all()
        return [to_event(r) for r in rows]


def claim(ocma: Ocma, consumer: str, workspace_id: str, holder: str) -> int | None:
    """Lease the consumer's cursor of the workspace (created at 0 if new); its position, or None if held."""
    now = utcnow()
    with ocma.session() as session:
        session.execute(
            insert_for(session, EventCursor)
            .values(consumer=consumer, workspace_id=workspace_id, last_seq=0)
            .on_conflict_do_nothing()
        )
        row = session.execute(
            update(EventCursor)
            .where(
                col(EventCursor.consumer) == consumer,
                col(EventCursor.workspace_id) == workspace_id,
                or_(
                    col(EventCursor.leased_by).is_(None),
                    col(EventCursor.lease_until) < now,
                    col(EventCursor.leased_by) == holder,
                ),
            )
            .values(leased_by=holder, lease_until=now + LEASE)
            .returning(col(EventCursor.last_seq))
        ).first()
    return None if row is None else int(row[0])


def advance(ocma: Ocma, consumer: str, workspace_id: str, holder: str, seq: int) -> bool:
    """Move the leased cursor to `seq` and renew the lease; False if the lease was lost."""
    with ocma.session() as session:
        done = session.execute(
            update(EventCursor)
            .where(
                col(EventCursor.consumer) == consumer,
                col(EventCursor.workspace_id) == workspace_id,
                col(EventCursor.leased_by) == holder,
            )
            .values(last_seq=seq, lease_until=utcnow() + LEASE)
        )
    return bool(getattr(done, "rowcount", 0))


def release(ocma: Ocma, consumer: str, workspace_id: str, holder: str) -> None:
    """Give the lease back."""
    with ocma.session() as session:
        session.execute(
            update(EventCursor)
            .where(
                col(EventCursor.consumer) == consumer,
                col(EventCursor.workspace_id) == workspace_id,
                col(EventCursor.leased_by) == holder,
            )
            .values(leased_by=None, lease_until=None)
        )


def behind(ocma: Ocma, consumer: str) -> list[str]:
    """Workspaces whose log is ahead of the consumer's cursor and whose cursor nobody holds."""
    now = utcnow()
    with ocma.session() as session:
        rows = session.execute(
            sa_select(col(EventCursor.workspace_id))
            .join(EventCounter, col(EventCounter.workspace_id) == col(EventCursor.workspace_id))
            .where(
                col(EventCursor.consumer) == consumer,
                col(EventCounter.last_seq) > col(EventCursor.last_seq),
                or_(col(EventCursor.leased_by).is_(None), col(EventCursor.lease_until) < now),
            )
        ).all()
    return [r[0] for r in rows]


def consume(
    ocma: Ocma, consumer: str, workspace_id: str, handle: Callable[[Event], None], *, max_age: timedelta
) -> int:
    """Hand every event past the consumer's cursor to `handle`, in order, advancing after each; returns how
    many. When another process holds the cursor it delivers them (and re-checks after letting go)."""
    holder = f"{os.getpid()}:{threading.get_ident()}:{new_id()[:8]}"
    handled = 0
    while True:
        cursor = claim(ocma, consumer, workspace_id, holder)
        if cursor is None:
            return handled
        try:
            cursor, count, lost = _drain(ocma, consumer, workspace_id, holder, cursor, handle, max_age)
            handled += count
        finally:
            release(ocma, consumer, workspace_id, holder)
        if lost or last_seq(ocma, workspace_id) <= cursor:
            return handled


def consume_batches(
    ocma: Ocma, consumer: str, workspace_id: str, handle: Callable[[list[Event]], None], *, max_age: timedelta
) -> int:
    """Like consume, a batch at a time: `handle(events)` then one cursor move per batch (for a consumer that
    stores a whole batch in one transaction); returns how many events were handled."""
    holder = f"{os.getpid()}:{threading.get_ident()}:{new_id()[:8]}"
    handled = 0
    while True:
        cursor = claim(ocma, consumer, workspace_id, holder)
        if cursor is None:
            return handled
        lost = False
        try:
            while batch := read(ocma, workspace_id, after=cursor):
                oldest = utcnow() - max_age
                fresh = [event for event in batch if event.at >= oldest]
                if fresh:
                    handle(fresh)
                    handled += len(fresh)
                last = batch[-1].seq
                assert last is not None
                if not advance(ocma, consumer, workspace_id, holder, last):
                    lost = True
                    break
                cursor = last
        finally:
            release(ocma, consumer, workspace_id, holder)
        if lost or last_seq(ocma, workspace_id) <= cursor:
            return handled


def _drain(
    ocma: Ocma,
    consumer: str,
    workspace_id: str,
    holder: str,
    cursor: int,
    handle: Callable[[Event], None],
    max_age: timedelta,
) -> tuple[int, int, bool]:
    """Deliver batches until the log is exhausted; (new cursor, events handled, lease lost)."""
    handled = 0
    while True:
        batch = read(ocma, workspace_id, after=cursor)
        if not batch:
            return cursor, handled, False
        oldest = utcnow() - max_age
        for event in batch:
            if event.at >= oldest:
                handle(event)
                handled += 1
            assert event.seq is not None
            if not advance(ocma, consumer, workspace_id, holder, event.seq):
                return cursor, handled, True
            cursor = event.seq


def sweep(ocma: Ocma) -> int:
    """Deliver to plugins whatever a dead or busy process left behind; how many events were handed over."""
    from ocma_core.events import call_plugins, has_listeners

    if not has_listeners():
        return 0
    total = 0
    for workspace_id in behind(ocma, "plugins"):
        total += consume(
            ocma, "plugins", workspace_id, lambda e: call_plugins(e, ocma), max_age=PLUGIN_MAX_AGE
        )
    return total


def first_seq_after(ocma: Ocma, workspace_id: str, when: datetime) -> int:
    """The sequence id just before the first event stored at or after `when` (to replay from a time)."""
    with ocma.session() as session:
        found = session.execute(
            sa_select(func.min(col(Notification.seq))).where(
                and_(col(Notification.workspace_id) == workspace_id, col(Notification.created_at) >= when)
            )
        ).scalar()
    return int(found) - 1 if found is not None else last_seq(ocma, workspace_id)
