"""The weekly report event: once a week per workspace, at OCMA_WEEKLY_REPORT_AT in the workspace's timezone,
exactly one of the running workers emits `report.weekly` (plugins such as the Slack bot send the report).

Every worker checks each minute. A week is done once its event is stored (a `report.weekly` event with
that period in the log). Until then, the first worker to claim the week for SENDING_TTL_S
(services/once.claim_once) stores the event; the log then hands it to the plugins from their stored cursor,
so a worker killed after storing it loses nothing (another one's sweep delivers it) and it is stored once.
A report is sent late, after a
restart, if a worker sees it within CATCH_UP of its due time; older ones are skipped rather than sent days
late.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ocma_core.context import Ocma

log = logging.getLogger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATCH_UP = timedelta(hours=24)
SENDING_TTL_S = 15 * 60.0  # a worker that dies while sending frees the week after this long
KIND = "report.weekly"


def parse_schedule(text: str) -> tuple[int, time] | None:
    """("mon 09:00") -> (0, 09:00); None for "off". Raises ValueError naming the expected form."""
    value = text.strip().lower()
    if value in ("", "off", "none"):
        return None
    parts = value.split()
    try:
        day, clock = parts
        weekday = DAYS.index(day[:3])
        if day not in (DAYS[weekday], _full_name(weekday)):
            raise ValueError
        hours, minutes = clock.split(":")
        return weekday, time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a weekly time; use a day and a 24-hour time such as 'mon 09:00', or 'off'"
        ) from None


def _full_name(weekday: int) -> str:
    return date(2024, 1, 1 + weekday).strftime("%A").lower()  # 2024-01-01 was a Monday


def last_due(now: datetime, timezone: str, weekday: int, at: time) -> datetime:
    """The latest `weekday` at `at` (local time in `timezone`) at or before `now`, in UTC."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    due = datetime.combine(day, at, tzinfo=zone)
    if due > local:
        due = datetime.combine(day - timedelta(days=7), at, tzinfo=zone)
    return due.astimezone(UTC)


def report_week(due: datetime, timezone: str) -> str:
    """The ISO week reported at `due`: the last full Monday-to-Sunday week before the due day's week."""
    local_day = due.astimezone(ZoneInfo(timezone)).date()
    monday = local_day - timedelta(days=local_day.weekday() + 7)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def emit_due_reports(ocma: Ocma, now: datetime | None = None, seen: set[str] | None = None) -> list[str]:
    """Emit report.weekly for each workspace whose report is due and not yet claimed; returns those emitted.

    `seen` (kept by the caller between rounds) remembers weeks already claimed, so a worker asks the claim
    store once per workspace and week.
    """
    from ocma_core.db.types import utcnow
    from ocma_core.services.once import claim_once
    from ocma_core.services.workspaces import list_workspaces

    schedule = parse_schedule(ocma.settings.weekly_report_at)
    if schedule is None:
        return []
    now = now or utcnow()
    known = seen if seen is not None else set()
    emitted: list[str] = []
    for workspace in list_workspaces(ocma):
        due = last_due(now, workspace.timezone, *schedule)
        if now - due > CATCH_UP:
            continue
        week = report_week(due, workspace.timezone)
        key = f"{KIND}:{workspace.id}:{week}"
        if key in known:
            continue
        if _stored(ocma, workspace.id, week):
            known.add(key)
            continue
        if not claim_once(ocma, key, SENDING_TTL_S):
            continue  # another worker is sending it (asked again next round, in case it dies)
        _emit(ocma, workspace.id, week, workspace.timezone, due)
        known.add(key)
        emitted.append(workspace.id)
    return emitted


def _stored(ocma: Ocma, workspace_id: str, week: str) -> bool:
    """Whether this week's report event was already emitted and stored."""
    from sqlmodel import select

    from ocma_core.db.models import Notification

    with ocma.session() as session:
        rows = session.exec(
            select(Notification.payload).where(
                Notification.workspace_id == workspace_id, Notification.kind == KIND
            )
        ).all()
    return any(isinstance(p, dict) and p.get("period") == week for p in rows)


def _emit(ocma: Ocma, workspace_id: str, week: str, timezone: str, due: datetime) -> None:
    from ocma_core.analytics.periods import parse_period
    from ocma_core.events import Event, dispatch, record

    period = parse_period(week, timezone)
    payload: dict[str, Any] = {
        "period": week,
        "label": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "timezone": timezone,
        "due_at": due.isoformat(),
    }
    event = Event(KIND, workspace_id, payload)
    log.info("weekly report of %s for workspace %s is due", week, workspace_id)
    with ocma.session() as session:  # stored first: the log hands it to the plugins, even after a crash
        record(session, event)
    dispatch(event, ocma)
