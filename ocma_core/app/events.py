"""Domain events: record one, hand it to every plugin's on_event, list every kind (core and plugins'), and
follow the log from a stored, leased cursor (`claim_cursor`, `advance_cursor`, `release_cursor`); the
notification feed (`list_notifications`, `unread_count`, `mark_read`: read state is per workspace) and the
fields kinds mark personal (`personal_fields`, `withhold_personal`).

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.event_kinds import EventKind, registered_kinds
from ocma_core.event_privacy import WITHHELD, personal_fields, withhold_personal
from ocma_core.eventlog import advance as advance_cursor
from ocma_core.eventlog import claim as claim_cursor
from ocma_core.eventlog import last_seq, read
from ocma_core.eventlog import release as release_cursor
from ocma_core.events import KINDS, Event, dispatch, record, record_once
from ocma_core.services.notifications import (
    KindFilter,
    list_notifications,
    mark_read,
    next_cursor,
    parse_kinds,
    unread_count,
)
from ocma_core.services.notifications import as_dict as notification_dict

__all__ = [
    "KINDS",
    "WITHHELD",
    "Event",
    "EventKind",
    "KindFilter",
    "advance_cursor",
    "claim_cursor",
    "dispatch",
    "last_seq",
    "list_notifications",
    "mark_read",
    "next_cursor",
    "notification_dict",
    "parse_kinds",
    "personal_fields",
    "read",
    "record",
    "record_once",
    "registered_kinds",
    "release_cursor",
    "unread_count",
    "withhold_personal",
]
