"""Domain events: stored once in the event log (notifications with a per-workspace sequence id) in the
transaction of the change they describe, then handed to every plugin's on_event from the stored log and
announced to live listeners (SSE, webhooks) in this process and, through Redis, in every other."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core.db.models import Notification
from ocma_core.db.types import utcnow
from ocma_core.event_kinds import KINDS as KINDS

if TYPE_CHECKING:
    from sqlmodel import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened: `kind` is one of KINDS (plugins may add their own); `seq` is its place in
    the workspace's log once stored (None for an event never stored)."""

    kind: str
    workspace_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    seq: int | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        """A stable id for de-duplication: `evt_<workspace>_<seq>`."""
        return f"evt_{self.workspace_id}_{self.seq}"

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data (what webhooks and the stream send)."""
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "workspace_id": self.workspace_id,
            "at": self.at.isoformat(),
            "data": self.payload,
        }


def record(session: Session, event: Event) -> Event:
    """Store the event in the caller's transaction with the workspace's next sequence id (set on `event`)."""
    from ocma_core.eventlog import next_seq

    seq = next_seq(session, event.workspace_id)
    object.__setattr__(event, "seq", seq)  # the stored identity of this very event
    session.add(
        Notification(
            workspace_id=event.workspace_id,
            kind=event.kind,
            payload=event.payload,
            created_at=event.at,
            seq=seq,
        )
    )
    return event


def record_once(
    session: Session, event: Event, key: str, keep: timedelta = timedelta(days=90)
) -> Event | None:
    """Store the event unless one was stored under `key` (an outside id, e.g. a payment provider's event id)
    within `keep`; None for a repeat. The key and the event commit or roll back together, so a delivery that
    failed half-way is stored when the sender retries, and a retry of a stored one never is."""
    from sqlmodel import SQLModel

    from ocma_core.eventlog import insert_for

    if not key or len(key) > 240:
        raise ValueError("record_once needs a key of 1 to 240 characters")
    table = SQLModel.metadata.tables["onceclaim"]
    now = utcnow()
    claimed = session.execute(
        insert_for(session, table)
        .values(key="event:" + key, expires_at=now + keep, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    ).first()
    return None if claimed is None else record(session, event)


def has_listeners() -> bool:
    """Whether any plugin implements on_event."""
    from ocma_core.plugins import get_host

    return bool(get_host().implementers("on_event"))


def call_plugins(event: Event, ocma: Any = None) -> None:
    """Call every plugin's on_event; a failing plugin is recorded (`ocma plugins`) and the others still run."""
    from ocma_core.plugins import get_host

    get_host().call("on_event", event=event, ocma=ocma)


def dispatch(event: Event, ocma: Any = None) -> None:
    """After the event's transaction committed: announce it and hand the log to the plugins from their stored
    cursor (an event never stored goes straight to the plugins)."""
    if ocma is None or event.seq is None:
        call_plugins(event, ocma)
        return
    from ocma_core.eventbus import announce
    from ocma_core.eventlog import PLUGIN_MAX_AGE, consume

    announce(ocma, event.workspace_id, event.seq)
    if not has_listeners():
        return
    try:
        consume(
            ocma,
            "plugins",
            event.workspace_id,
            lambda e: call_plugins(e, ocma),
            max_age=PLUGIN_MAX_AGE,
        )
    except Exception:  # the sweep of a worker delivers them later
        log.exception("could not deliver events of workspace %s to plugins now", event.workspace_id)
