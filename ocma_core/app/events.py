"""Domain events: record one in a transaction, or hand one to every plugin"s on_event.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.events import KINDS, Event, dispatch, record

__all__ = ["KINDS", "Event", "dispatch", "record"]
