"""Report periods in the workspace's timezone: last-week, this-month, 2026-03, 2026-W10, a..b, last-N-days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ocma_core.db.types import utcnow
from ocma_core.errors import ValidationFailed

HELP = (
    "last-week, this-week, last-month, this-month, last-N-days (e.g. last-30-days), YYYY-MM, YYYY-Www, "
    "or FROM..TO with ISO dates (TO excluded)"
)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with how it was asked for."""

    start: datetime
    end: datetime
    label: str
    kind: str  # week, month, days, custom
    timezone: str

    def previous(self) -> Period:
        """The period of the same length just before."""
        length = self.end - self.start
        return Period(self.start - length, self.start, f"before {self.label}", self.kind, self.timezone)

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
        }


def _at(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_period(text: str, timezone: str = "UTC", now: datetime | None = None) -> Period:
    """Read a period name; weeks start on Monday; days are local to `timezone`."""
    zone = ZoneInfo(timezone)
    today = (now or utcnow()).astimezone(zone).date()
    t = text.strip().lower()
    monday = today - timedelta(days=today.weekday())
    if t in ("last-week", "this-week"):
        start = monday - timedelta(days=7) if t == "last-week" else monday
        return Period(
            _at(start, zone),
            _at(start + timedelta(days=7), zone),
            f"week of {start.isoformat()}",
            "week",
            timezone,
        )
    if t in ("last-month", "this-month"):
        start = _month_start(today)
        if t == "last-month":
            start = _month_start(start - timedelta(days=1))
        return Period(
            _at(start, zone), _at(_next_month(start), zone), start.strftime("%B %Y"), "month", timezone
        )
    if m := re.fullmatch(r"last-(\d{1,4})-days", t):
        days = int(m.group(1))
        if days < 1:
            raise ValidationFailed("last-N-days needs N >= 1.")
        end = today + timedelta(days=1)
        return Period(
            _at(end - timedelta(days=days), zone), _at(end, zone), f"last {days} days", "days", timezone
        )
    if m := re.fullmatch(r"(\d{4})-(\d{2})", t):
        start = date(int(m.group(1)), int(m.group(2)), 1)
        return Period(
            _at(start, zone), _at(_next_month(start), zone), start.strftime("%B %Y"), "month", timezone
        )
    if m := re.fullmatch(r"(\d{4})-w(\d{2})", t):
        start = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        return Period(
            _at(start, zone), _at(start + timedelta(days=7), zone), f"week {t.upper()}", "week", timezone
        )
    if ".." in t:
        a, b = t.split("..", 1)
        try:
            start, end = date.fromisoformat(a), date.fromisoformat(b)
        except ValueError:
            raise ValidationFailed(f"Unknown period {text!r}.", fix=f"Use {HELP}.") from None
        if end <= start:
            raise ValidationFailed("The period's end must be after its start.")
        return Period(_at(start, zone), _at(end, zone), f"{a} to {b}", "custom", timezone)
    raise ValidationFailed(f"Unknown period {text!r}.", fix=f"Use {HELP}.")
