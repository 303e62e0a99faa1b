"""Times a person types (CLI options, chat): ISO 8601, or a small strict set of relative forms.

`--at` takes `2026-03-03T09:00` (a time without offset is in the workspace's timezone), `today 17:30`,
`tomorrow 09:00`, a weekday (`monday 09:00`: the next Monday, never today) or `in 2h` / `in 1d2h30m`.
`--in` takes the duration alone. Anything else is refused with the forms that work, never guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ocma_core.errors import ValidationFailed
from ocma_core.services.post_input import local_to_utc

__all__ = ["FORMS", "local_to_utc", "parse_duration", "parse_since", "parse_when"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FORMS = (
    "an ISO time (2026-03-03T09:00, in the workspace's timezone unless it has an offset), "
    "'today 17:30', 'tomorrow 09:00', a weekday ('monday 09:00': the next one, not today) or 'in 2h'"
)
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
_DAY_TIME = re.compile(r"([a-z]+)\s+(\d{1,2}):(\d{2})")
_UNITS = ("weeks", "days", "hours", "minutes")


def parse_duration(text: str, *, option: str = "--in") -> timedelta:
    """`2h`, `30m`, `1d`, `1w`, `1h30m` (weeks, days, hours, minutes in that order) as a timedelta."""
    value = text.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(value)
    if not value or match is None or not any(match.groups()):
        raise ValidationFailed(
            f"{option} {text!r} is not a duration.",
            fix="Write it as a number and a unit, e.g. 30m, 2h, 1d, 1w or 1h30m.",
        )
    return timedelta(**{unit: int(n) for unit, n in zip(_UNITS, match.groups(), strict=True) if n})


def parse_when(text: str, timezone: str, *, now: datetime | None = None, option: str = "--at") -> datetime:
    """A datetime from what a person typed: aware for `in 2h` and ISO with an offset, else naive local.

    Naive results are wall-clock times in `timezone`; the services turn them into UTC (and refuse a time
    that does not exist there), so the CLI and the API read local times the same way.
    """
    value = " ".join(text.strip().lower().split())
    current = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    if value.startswith("in "):
        try:
            ahead = parse_duration(value[3:], option=option)
        except ValidationFailed:
            raise ValidationFailed(
                f"{option} {text!r} is not a time OCMA reads.", fix="Write e.g. 'in 30m', 'in 2h' or 'in 1d'."
            ) from None
        return (now or datetime.now(UTC)).astimezone(UTC) + ahead
    match = _DAY_TIME.fullmatch(value)
    if match:
        day = _day(match.group(1), current.date())
        hour, minute = int(match.group(2)), int(match.group(3))
        if day is not None and hour < 24 and minute < 60:
            return datetime.combine(day, time(hour, minute))
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{option} {text!r} is not a time OCMA reads.", fix=f"Use {FORMS}.") from None


def parse_since(
    text: str, timezone: str, *, now: datetime | None = None, option: str = "--since"
) -> datetime:
    """A start: an ISO date (its local midnight) or a duration ago (`30d`), as an aware UTC datetime."""
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        try:
            return (now or datetime.now(UTC)).astimezone(UTC) - parse_duration(value, option=option)
        except ValidationFailed:
            raise ValidationFailed(
                f"{option} {text!r} is neither a date nor a duration.",
                fix="Use an ISO date (2026-01-01) or how long ago (30d, 2w).",
            ) from None
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _day(word: str, today: date) -> date | None:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    for index, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.startswith(word):
            ahead = (index - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None
