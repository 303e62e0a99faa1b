"""EventKind: how a plugin (and the core) declares an event kind (ocma_core.event_kinds collects them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventKind:
    """An event kind: its name, when it happens and its payload's JSON schema.

    `name` is lower-case dotted words (`area.what`), `when` one line, `schema` a JSON schema of type object."""

    name: str
    when: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
