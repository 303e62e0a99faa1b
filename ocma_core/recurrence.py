"""Recurrence rules and queue slots in the author's timezone, correct across daylight-saving changes.

Times are wall-clock times in an IANA zone: "every Monday at 09:00 Europe/Berlin" stays 09:00 local
when the clocks change. A local time that does not exist (spring forward) moves to the first instant
after the gap; an ambiguous one (fall back) takes the first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ocma_core.errors import ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time (fold=0: a gap time moves forward, an ambiguous one is the first)."""
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def parse_time(value: str) -> time:
    """HH:MM (24 h)."""
    try:
        hour, minute = value.split(":")
        return time(int(hour), int(minute))
    except (ValueError, TypeError):
        raise ValidationFailed(
            f"{value!r} is not a time of day.", fix="Write times as HH:MM, e.g. 09:30."
        ) from None


def parse_weekdays(values: list[Any]) -> list[int]:
    """Weekday names (mon..sun) or numbers (0=Monday) as numbers."""
    days = []
    for value in values:
        if isinstance(value, int) and 0 <= value <= 6:
            days.append(value)
        elif isinstance(value, str) and value[:3].lower() in WEEKDAYS:
            days.append(WEEKDAYS.index(value[:3].lower()))
        else:
            raise ValidationFailed(f"{value!r} is not a weekday.", fix="Use mon, tue, ... sun.")
    return sorted(set(days))


@dataclass(frozen=True)
class Rule:
    """Every `every_days` days at the anchor's local time, or weekly on `weekdays` at `times`."""

    every_days: int | None = None
    weekdays: tuple[int, ...] = ()
    times: tuple[time, ...] = ()
    count: int | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rule:
        """Validate a rule from JSON: {"every_days": 2} or {"weekdays": ["mon"], "times": ["09:00"]}."""
        every = raw.get("every_days")
        weekdays = parse_weekdays(list(raw.get("weekdays") or []))
        times = tuple(sorted(parse_time(t) for t in raw.get("times") or []))
        until = raw.get("until")
        if isinstance(until, str):
            until = datetime.fromisoformat(until)
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        count = raw.get("count")
        if every is not None:
            if not isinstance(every, int) or not 1 <= every <= 366:
                raise ValidationFailed("every_days must be a whole number from 1 to 366.")
            if weekdays:
                raise ValidationFailed("Give either every_days or weekdays, not both.")
        elif not weekdays or not times:
            raise ValidationFailed(
                "A recurrence needs every_days, or weekdays with times.",
                fix='Example: {"weekdays": ["mon", "thu"], "times": ["09:00"]}.',
            )
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValidationFailed("count must be a positive whole number.")
        return cls(every_days=every, weekdays=tuple(weekdays), times=times, count=count, until=until)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {}
        if self.every_days:
            out["every_days"] = self.every_days
        if self.weekdays:
            out["weekdays"] = [WEEKDAYS[d] for d in self.weekdays]
            out["times"] = [t.strftime("%H:%M") for t in self.times]
        if self.count:
            out["count"] = self.count
        if self.until:
            out["until"] = self.until.isoformat()
        return out


def next_occurrence(rule: Rule, anchor: datetime, after: datetime, zone_name: str) -> datetime | None:
    """The first occurrence strictly after `after`; `anchor` is the series' first occurrence (UTC)."""
    zone = ZoneInfo(zone_name)
    local_anchor = anchor.astimezone(zone)
    candidate: datetime | None = None
    if rule.every_days:
        at = local_anchor.time().replace(tzinfo=None)
        day = local_anchor.date()
        after_day = after.astimezone(zone).date()
        if after_day > day:
            steps = (after_day - day).days // rule.every_days
            day += timedelta(days=steps * rule.every_days)
        for _ in range(3):
            when = local_to_utc(day, at, zone)
            if when > after:
                candidate = when
                break
            day += timedelta(days=rule.every_days)
    else:
        day = max(after.astimezone(zone).date(), local_anchor.date())
        for _ in range(8 * 7):
            if day.weekday() in rule.weekdays:
                for at in rule.times:
                    when = local_to_utc(day, at, zone)
                    if when > after and when >= anchor:
                        candidate = when
                        break
                if candidate:
                    break
            day += timedelta(days=1)
    if candidate is None or (rule.until is not None and candidate > rule.until):
        return None
    return candidate


def slot_times(slots: dict[str, Any], after: datetime, zone_name: str, limit: int = 200) -> list[datetime]:
    """Upcoming queue-slot instants after `after`: slots = {"weekdays": [...], "times": [...]}."""
    rule = Rule.parse(
        {"weekdays": slots.get("weekdays") or list(WEEKDAYS), "times": slots.get("times") or []}
    )
    out: list[datetime] = []
    cursor = after
    while len(out) < limit:
        nxt = next_occurrence(rule, datetime(1970, 1, 1, tzinfo=UTC), cursor, zone_name)
        if nxt is None:
            break
        out.append(nxt)
        cursor = nxt
    return out
