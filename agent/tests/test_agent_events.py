"""The recent_events tool: the workspace's log after a sequence id, filtered by kind, followed by calling
again with next_after_seq; marked as carrying outside text; offered to MCP callers with events.read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_support import CLI
from ocma_agent.context import ToolContext
from ocma_agent.tools import core_tools
from ocma_agent.tools.events import recent_events

from ocma_core.context import Ocma
from ocma_core.events import Event, record


def _store(ocma: Ocma, workspace_id: str, kind: str, n: int) -> None:
    with ocma.session() as session:
        record(session, Event(kind, workspace_id, {"post_id": f"p{n}", "targets": []}))


def test_follow_the_log_by_sequence_id(ocma: Ocma, workspace_id: str) -> None:
    ctx = ToolContext(ocma, workspace_id, CLI, "cli:t", "UTC", lambda: datetime.now(UTC))
    for n, kind in enumerate(["post.published", "post.failed", "post.published"]):
        _store(ocma, workspace_id, kind, n)
    latest = recent_events(ctx, limit=2)
    assert [e["seq"] for e in latest["events"]] == [2, 3] and latest["latest_seq"] == 3
    only = recent_events(ctx, after_seq=0, kinds="post.published")
    assert [e["data"]["post_id"] for e in only["events"]] == ["p0", "p2"]
    _store(ocma, workspace_id, "post.failed", 3)
    more = recent_events(ctx, after_seq=latest["next_after_seq"])
    assert [e["seq"] for e in more["events"]] == [4] and more["next_after_seq"] == 4
    assert recent_events(ctx, after_seq=4)["events"] == []


def test_unread_events_only(ocma: Ocma, workspace_id: str) -> None:
    from ocma_core.app.events import mark_read

    ctx = ToolContext(ocma, workspace_id, CLI, "cli:t", "UTC", lambda: datetime.now(UTC))
    for n, kind in enumerate(["post.published", "post.failed", "post.published", "post.failed"]):
        _store(ocma, workspace_id, kind, n)
    mark_read(ocma, workspace_id, up_to_seq=2)
    assert [e["seq"] for e in recent_events(ctx, unread=True)["events"]] == [3, 4]
    assert [e["seq"] for e in recent_events(ctx, unread=True, limit=1)["events"]] == [4]  # the latest
    first = recent_events(ctx, after_seq=0, unread=True, limit=1, kinds="post.*")
    assert [e["seq"] for e in first["events"]] == [3] and first["next_after_seq"] == 3
    assert [e["seq"] for e in recent_events(ctx, after_seq=3, unread=True)["events"]] == [4]
    assert (
        recent_events(ctx, unread=True, kinds="post.published")["events"][0]["id"] == f"evt_{workspace_id}_3"
    )


def test_the_tool_is_read_only_and_untrusted() -> None:
    [tool] = [t for t in core_tools() if t.name == "recent_events"]
    assert tool.effect == "read" and tool.untrusted


def test_fields_about_one_customer_are_withheld(ocma: Ocma, workspace_id: str, plugin_host: Any) -> None:
    import ocma_stripe

    from ocma_core.plugin_registry import clear_caches

    plugin_host.register(ocma_stripe, name="stripe")
    clear_caches()
    try:
        sale = {"stripe_event_id": "evt_1", "object_id": "cs_1", "customer": "cus_SECRET", "amount": 4900}
        with ocma.session() as session:
            record(session, Event("stripe.checkout_completed", workspace_id, {**sale, "currency": "eur"}))
        ctx = ToolContext(ocma, workspace_id, CLI, "cli:t", "UTC", lambda: datetime.now(UTC))
        [event] = recent_events(ctx, after_seq=0)["events"]
        assert event["data"]["customer"] == event["data"]["amount"] == "(withheld: about one person)"
        assert event["data"]["currency"] == "eur" and "cus_SECRET" not in str(event)
    finally:
        clear_caches()
