"""Reading the times a model writes: ISO 8601, a time without offset in the workspace's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ocma_core.errors import ValidationFailed


def parse_time(text: str, timezone: str) -> datetime:
    """An aware UTC datetime from ISO 8601 (naive = the workspace's local time), 'tomorrow 09:00', 'monday
    09:00' or 'in 2h' (the forms the CLI takes); a local time the clocks skip or repeat is refused."""
    from ocma_core.app.calendar import FORMS, local_to_utc, parse_when

    try:
        when = parse_when(text, timezone, option="time")
    except ValidationFailed:
        raise ValidationFailed(f"{text!r} is not a time.", fix=f"Write {FORMS}.") from None
    if when.tzinfo is None:
        when = local_to_utc(when, timezone)
    return when.astimezone(UTC)


def parse_day(text: str, timezone: str, *, end: bool = False) -> datetime:
    """A period bound: a date means its local midnight (the next one for an exclusive `end`), else a time."""
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return parse_time(value, timezone)
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local(when: datetime | None, timezone: str) -> str | None:
    """`when` in the workspace's timezone, ISO without seconds, with the weekday: 'Tue 2026-03-03T10:00+01:00'."""
    if when is None:
        return None
    shown = when.astimezone(ZoneInfo(timezone))
    return f"{shown:%a} {shown.isoformat(timespec='minutes')}"
