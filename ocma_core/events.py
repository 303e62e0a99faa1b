"""Domain events: stored as notifications, then handed to every plugin's on_event hook."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocma_core.db.models import Notification
from ocma_core.db.types import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

log = logging.getLogger(__name__)

KINDS = (
    "post.scheduled",
    "post.published",
    "post.failed",
    "post.partially_published",
    "post.deleted",
    "target.unconfirmed",
    "account.connected",
    "account.needs_reconnect",
    "account.expiring",
    "account.reconnected",
    "report.weekly",
    "webhook.comment",
    "webhook.mention",
)


@dataclass(frozen=True)
class Event:
    """Something that happened: `kind` is one of KINDS (plugins may add their own)."""

    kind: str
    workspace_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)


def record(session: Session, event: Event) -> None:
    """Store the event as a notification in the caller's transaction."""
    session.add(Notification(workspace_id=event.workspace_id, kind=event.kind, payload=event.payload))


def dispatch(event: Event, ocma: Any = None) -> None:
    """Call every plugin's on_event; a failing plugin is recorded (`ocma plugins`) and the others still run."""
    from ocma_core.plugins import get_host

    get_host().call("on_event", event=event, ocma=ocma)
