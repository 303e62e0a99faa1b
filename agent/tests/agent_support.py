"""Helpers for the agent tests (not fixtures)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ocma_agent.context import Caller
from ocma_agent.events import AgentEvent, TurnResult
from ocma_agent.loop import run_turn

from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.services.workspaces import update_settings

CLI = Caller("cli", user="tester", role=Role.OWNER)
API = Caller("api", user="key k1", role=Role.EDITOR)


def next_weekday(weekday: int, hour: int, timezone: str = "Europe/Berlin") -> datetime:
    """The next given weekday (Mon=0) at `hour` local time, at least a day ahead, as an aware local time."""
    zone = ZoneInfo(timezone)
    day = datetime.now(zone).date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone)


def turn(
    ocma: Ocma,
    workspace_id: str,
    text: str,
    *,
    thread: str = "cli:test",
    caller: Caller = CLI,
    approver: Any = None,
    events: list[AgentEvent] | None = None,
    stream: bool | None = None,
) -> TurnResult:
    """Run one turn synchronously, collecting events."""
    sink = events.append if events is not None else None
    return asyncio.run(
        run_turn(
            ocma, workspace_id, thread, text, caller=caller, on_event=sink, approver=approver, stream=stream
        )
    )


def allow_direct(ocma: Ocma, workspace_id: str, **surfaces: str) -> None:
    """Set the workspace's agent policy so these surfaces act directly (surface=least role)."""
    update_settings(ocma, workspace_id, agent_policy={"act_directly": surfaces})


def utc(when: datetime) -> datetime:
    """`when` in UTC."""
    return when.astimezone(UTC)
