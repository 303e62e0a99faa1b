"""Personal data in events: payload fields an event kind's schema marks `"x-personal": true` (a customer id,
what one person paid) are withheld wherever events reach a model or a shared channel (the agent's tools,
the Slack bot's notification feed)."""

from __future__ import annotations

from typing import Any

WITHHELD = "(withheld: about one person)"


def personal_fields() -> dict[str, set[str]]:
    """Per event kind, the payload fields its schema marks `"x-personal": true`."""
    from ocma_core.event_kinds import registered_kinds

    found: dict[str, set[str]] = {}
    for name, kind in registered_kinds().items():
        properties = kind.schema.get("properties") or {}
        marked = {
            key for key, spec in properties.items() if isinstance(spec, dict) and spec.get("x-personal")
        }
        if marked:
            found[name] = marked
    return found


def withhold_personal(event: dict[str, Any], personal: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """The event (as JSON, its payload under `data`) with the fields its kind marks personal withheld."""
    marked = personal if personal is not None else personal_fields()
    hidden = marked.get(str(event.get("kind")), set())
    if not hidden:
        return event
    data = {k: (WITHHELD if k in hidden else v) for k, v in (event.get("data") or {}).items()}
    return {**event, "data": data}


__all__ = ["WITHHELD", "personal_fields", "withhold_personal"]
