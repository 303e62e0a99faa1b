"""Every event kind OCMA emits, with the JSON schema of its payload, and those plugins declare through the
`register_event_kinds` hook: the source of docs/events.md (`python -m ocma_core.event_kinds > docs/events.md`,
with every installed plugin loaded; a test keeps the two in step).

    from ocma_core import EventKind, hookimpl

    @hookimpl
    def register_event_kinds(register):
        register(EventKind("stripe.payment_succeeded", "a payment succeeded", {"type": "object", ...}))
"""

from __future__ import annotations

import re
from typing import Any

from ocma_core.event_kind import EventKind as EventKind
from ocma_core.plugin_registry import Registry

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


_TARGETS = {
    "type": "array",
    "description": "one entry per account: target_id, platform, status, url, error",
    "items": {"type": "object"},
}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }


_S: dict[str, Any] = {"type": "string"}
_N: dict[str, Any] = {"type": "number"}
_I: dict[str, Any] = {"type": "integer"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}

# kind -> (when it happens, payload schema)
SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {
    "post.scheduled": (
        "a post was scheduled (or a recurring post's next occurrence was created)",
        _obj({"post_id": _S, "scheduled_at": _TIME}, {"recurring": {"type": "boolean"}}),
    ),
    "post.published": (
        "every target of a post was published",
        _obj({"post_id": _S, "targets": _TARGETS}),
    ),
    "post.failed": (
        "no target of a post was published; reason joins the targets' errors",
        _obj({"post_id": _S, "targets": _TARGETS, "reason": _S}),
    ),
    "post.partially_published": (
        "some targets of a post were published, others failed",
        _obj({"post_id": _S, "targets": _TARGETS}),
    ),
    "post.deleted": (
        "a published post was deleted from its platforms",
        _obj({"post_id": _S, "post_status": _S, "by": _S, "targets": _TARGETS}),
    ),
    "post.approval_requested": (
        "a post was submitted for approval (it waits in pending_approval)",
        _obj({"post_id": _S}, {"scheduled_at": {"type": ["string", "null"], "format": "date-time"}}),
    ),
    "post.approved": (
        "a post waiting for approval was approved (and scheduled or published)",
        _obj({"post_id": _S, "post_status": _S}),
    ),
    "target.unconfirmed": (
        "a publish call's outcome is unknown; OCMA asks the platform before trying again",
        _obj({"post_id": _S, "target_id": _S, "platform": _S}),
    ),
    "account.connected": ("an account was connected", _obj({"account_id": _S, "platform": _S})),
    "account.needs_reconnect": (
        "an account's authorisation stopped working; its posts are held",
        _obj({"account_id": _S, "platform": _S, "handle": _S, "reason": _S}),
    ),
    "account.reconnected": (
        "a broken account was connected again; future posts went back to the queue",
        _obj(
            {"account_id": _S, "platform": _S, "handle": _S},
            {"requeued": {"type": "array"}, "held": {"type": "array"}},
        ),
    ),
    "account.expiring": (
        "a login that cannot be refreshed ends within 7 days (sent 7 days and again 1 day ahead): reconnect it",
        _obj(
            {
                "account_id": _S,
                "platform": _S,
                "handle": _S,
                "expires_at": _TIME,
                "hours_left": _N,
                "reason": _S,
            }
        ),
    ),
    "metrics.updated": (
        "a post's or account's metrics changed, or a post's link clicks (scope link_clicks, "
        "POST /webhooks/analytics): the new values and the change since the previous reading",
        {
            **_obj(
                {
                    "scope": {"type": "string", "enum": ["post", "account", "link_clicks"]},
                    "values": {
                        "type": "object",
                        "description": "metric name -> number, as the platform reported (link_clicks: the "
                        "post's cumulative clicks)",
                    },
                    "delta": {
                        "type": "object",
                        "description": "metric name -> change since the previous reading",
                    },
                },
                {
                    "account_id": {**_S, "description": "scopes post and account"},
                    "platform": {**_S, "description": "scopes post and account"},
                    "post_id": _S,
                    "target_id": _S,
                    "fetched_at": _TIME,
                    "first": {"type": "boolean", "description": "true on the first reading (delta is empty)"},
                },
            ),
            "if": {"properties": {"scope": {"enum": ["post", "account"]}}},
            "then": {"required": ["account_id", "platform"]},
            "else": {"required": ["post_id"]},
        },
    ),
    "experiment.decided": (
        "an A/B experiment was finalised with a winner (or with not enough evidence)",
        _obj(
            {"experiment_id": _S, "status": _S}, {"winner": {"type": "string", "description": "variant id"}}
        ),
    ),
    "budget.exceeded": (
        "an AI call was refused because it would take the workspace over its daily or monthly AI budget "
        "(once per budget and period)",
        _obj({"period": _S, "spent": _N, "budget": _N, "currency": _S, "resets_at": _TIME}),
    ),
    "report.weekly": (
        "the weekly report of a workspace is due",
        _obj({"period": _S, "label": _S, "start": _TIME, "end": _TIME, "timezone": _S, "due_at": _TIME}),
    ),
    "webhook.comment": (
        "a platform's signed webhook reported a comment on a connected account's post",
        _obj(
            {
                "account_id": _S,
                "platform": _S,
                "handle": _S,
                "external_post_id": _S,
                "detail": {"type": "object"},
            }
        ),
    ),
    "webhook.mention": (
        "a platform's signed webhook reported a mention of a connected account",
        _obj(
            {
                "account_id": _S,
                "platform": _S,
                "handle": _S,
                "external_post_id": _S,
                "detail": {"type": "object"},
            }
        ),
    ),
    "webhook.disabled": (
        "an outbound webhook kept failing and was disabled",
        _obj({"webhook_id": _S, "url": _S, "reason": _S}, {"failing_since": _TIME, "attempts": _I}),
    ),
}

KINDS: tuple[str, ...] = tuple(SCHEMAS)
CORE_PLUGIN = "ocma"


def _accept(item: Any, plugin_name: str) -> EventKind:
    if not isinstance(item, EventKind):
        raise TypeError(f"register() takes an EventKind, got {item!r}")
    if not KIND_PATTERN.match(item.name):
        raise ValueError(f"kind {item.name!r} is not lower-case dotted words like `myplugin.thing_happened`")
    if not item.when.strip() or "\n" in item.when.strip():
        raise ValueError(f"kind {item.name!r} needs a one-line `when`")
    if not isinstance(item.schema, dict) or item.schema.get("type") != "object":
        raise ValueError(f"kind {item.name!r}: the payload schema must be a JSON schema of type object")
    return item


def _core_kinds() -> list[EventKind]:
    return [EventKind(kind, when, schema) for kind, (when, schema) in SCHEMAS.items()]


EVENT_KINDS: Registry[EventKind] = Registry(
    "register_event_kinds", "event kind", _accept, builtin=_core_kinds, builtin_plugin=CORE_PLUGIN
)


def registered_kinds() -> dict[str, EventKind]:
    """Every kind by name: the core's first, then those plugins declare (a taken name is a plugin error)."""
    return EVENT_KINDS.items()


def declared_by() -> dict[str, str]:
    """Which plugin declared each kind (`ocma` for the core's)."""
    return EVENT_KINDS.owners()


def markdown() -> str:
    """docs/events.md: every kind (the core's and the loaded plugins'), when it happens, its payload schema."""
    import json

    kinds, owners = registered_kinds(), declared_by()
    core = [k for k in kinds.values() if owners[k.name] == CORE_PLUGIN]
    plugged = [k for k in kinds.values() if owners[k.name] != CORE_PLUGIN]

    lines = [
        "# Events",
        "",
        "<!-- Generated by `python -m ocma_core.event_kinds`; tests/test_event_log.py keeps it in step. -->",
        "",
        "Every event is stored once in its workspace's log with a sequence id (`seq`) that only grows.",
        "Plugins receive them through `on_event`, HTTP clients through `GET /v1/events` (Server-Sent Events,",
        "resumable with `Last-Event-ID`) or the WebSocket `/v1/stream` (the same feed, docs/webhooks.md), and",
        "other systems through outbound webhooks (`/v1/webhooks`). People read them as notifications with read",
        "state (`GET /v1/notifications`, `ocma notifications`, `/ocma notifications` in Slack; docs/api.md).",
        "Each delivery carries the event as:",
        "",
        "```json",
        '{"id": "evt_<workspace>_<seq>", "seq": 42, "kind": "post.published", "workspace_id": "...",',
        ' "at": "2026-12-03T12:00:00+00:00", "data": {"post_id": "...", "targets": []}}',
        "```",
        "",
        "Delivery is at least once: the same event may arrive twice, always with the same `id` and `seq`.",
        "Webhook deliveries to one endpoint are not promised to arrive in order; sort by `seq` if it matters.",
        "",
        "| kind | when |",
        "|---|---|",
    ]
    lines += [f"| `{k.name}` | {k.when} |" for k in core]
    lines += [
        "",
        "## Kinds plugins declare",
        "",
        "A plugin declares its own kinds with the `register_event_kinds` hook (docs/plugins.md); they are stored,",
        "streamed and sent to webhooks like the core's. These come with the plugins in this repository:",
        "",
    ]
    if plugged:
        lines += ["| kind | plugin | when |", "|---|---|---|"]
        lines += [f"| `{k.name}` | {owners[k.name]} | {k.when} |" for k in plugged]
    else:
        lines += ["(none yet)"]
    for k in [*core, *plugged]:
        body = json.dumps(k.schema, indent=2, sort_keys=True)
        lines += ["", f"## `{k.name}`", "", k.when[0].upper() + k.when[1:] + ".", "", "```json", body, "```"]
    return "\n".join(lines) + "\n"


def _main() -> None:
    """Print docs/events.md with every installed plugin loaded (whatever OCMA_LOAD_PLUGINS says)."""
    from ocma_core.plugins import PluginHost, load_plugins, reset_host

    reset_host(load_plugins(PluginHost(), env={}))
    print(markdown(), end="")


if __name__ == "__main__":
    _main()
