"""The event kinds automations emit (declared with register_event_kinds, listed in docs/events.md)."""

from __future__ import annotations

from typing import Any

from ocma_core import EventKind

_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_COMMON = {"rule_id": _S, "on": {"type": "string", "description": "the event kind the rule reacts to"}}

KINDS = [
    EventKind(
        "automation.drafted",
        "an automation drafted a post from events; it waits for approval (post.approval_requested)",
        {
            "type": "object",
            "required": sorted([*_COMMON, "post_id", "events", "first_seq", "last_seq"]),
            "properties": {
                **_COMMON,
                "post_id": _S,
                "events": {"type": "integer", "description": "how many events the draft summarises"},
                "first_seq": _I,
                "last_seq": _I,
            },
        },
    ),
    EventKind(
        "automation.failed",
        "an automation could not draft a post (no model, a platform refused the text); it retries later",
        {
            "type": "object",
            "required": sorted([*_COMMON, "events", "reason"]),
            "properties": {
                **_COMMON,
                "events": _I,
                "reason": _S,
                "fix": _S,
                "post_id": {"type": "string", "description": "the draft, when it was saved but not held"},
            },
        },
    ),
]
