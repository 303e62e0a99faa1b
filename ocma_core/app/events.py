"""Domain events: record one, hand it to every plugin's on_event, list every kind (core and plugins'), and
follow the log from a stored, leased cursor (`claim_cursor`, `advance_cursor`, `release_cursor`).

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.event_kinds import EventKind, registered_kinds
from ocma_core.eventlog import advance as advance_cursor
from ocma_core.eventlog import claim as claim_cursor
from ocma_core.eventlog import last_seq, read
from ocma_core.eventlog import release as release_cursor
from ocma_core.events import KINDS, Event, dispatch, record, record_once

__all__ = [
    "KINDS",
    "Event",
    "EventKind",
    "advance_cursor",
    "claim_cursor",
    "dispatch",
    "last_seq",
    "read",
    "record",
    "record_once",
    "registered_kinds",
    "release_cursor",
]
