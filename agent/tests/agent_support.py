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


def seed_published(
    ocma: Ocma,
    workspace_id: str,
    account_ids: list[str],
    text: str,
    published_at: datetime,
    metrics: dict[str, dict[str, Any]] | None,
    *,
    unavailable: list[str] | None = None,
) -> str:
    """A post published at `published_at` on these accounts, with one stored metric snapshot per platform
    (`metrics` maps platform name to the values the platform reported; None stores no snapshot)."""
    from sqlmodel import select

    from ocma_core.db.models import Post, PostMetricSnapshot, PostStatus, Target, TargetStatus
    from ocma_core.services.post_input import PostInput
    from ocma_core.services.posts import create_post

    post = create_post(ocma, workspace_id, PostInput(body=text, account_ids=account_ids, action="draft"))
    with ocma.session() as session:
        stored = session.get(Post, post.id)
        assert stored is not None
        stored.status, stored.scheduled_at = PostStatus.PUBLISHED, published_at
        session.add(stored)
        for number, target in enumerate(session.exec(select(Target).where(Target.post_id == post.id))):
            target.status, target.published_at = TargetStatus.PUBLISHED, published_at
            target.external_id = f"ext-{post.id[:6]}-{number}"
            target.url = f"https://example.social/{target.platform}/{target.external_id}"
            session.add(target)
            if metrics is not None and target.platform in metrics:
                session.add(
                    PostMetricSnapshot(
                        target_id=target.id,
                        account_id=target.account_id,
                        platform=target.platform,
                        fetched_at=published_at + timedelta(days=1),
                        values=metrics[target.platform],
                        unavailable=list(unavailable or []),
                    )
                )
    return post.id
