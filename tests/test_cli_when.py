"""The times people type on the command line: ISO, today/tomorrow/weekday HH:MM, `in 2h`; nothing guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocma_core.errors import ValidationFailed
from ocma_core.when import parse_duration, parse_since, parse_when

# A Wednesday, 22:30 in Berlin (21:30 UTC): "today" and "tomorrow" are Berlin's days, not UTC's.
NOW = datetime(2026, 3, 4, 21, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today 23:15", datetime(2026, 3, 4, 23, 15)),
        ("tomorrow 09:00", datetime(2026, 3, 5, 9, 0)),
        ("Tomorrow  9:05", datetime(2026, 3, 5, 9, 5)),
        ("friday 10:00", datetime(2026, 3, 6, 10, 0)),
        ("fri 10:00", datetime(2026, 3, 6, 10, 0)),
        ("wednesday 09:00", datetime(2026, 3, 11, 9, 0)),  # the next Wednesday, never today
        ("monday 08:30", datetime(2026, 3, 9, 8, 30)),
        ("2026-12-01T09:00", datetime(2026, 12, 1, 9, 0)),
    ],
)
def test_local_forms_are_wall_clock_times_in_the_workspace_zone(text: str, expected: datetime) -> None:
    assert parse_when(text, "Europe/Berlin", now=NOW) == expected


def test_the_day_is_the_workspace_s_day_not_utc_s() -> None:
    late_utc = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # already Thursday in Berlin
    assert parse_when("today 10:00", "Europe/Berlin", now=late_utc) == datetime(2026, 3, 5, 10, 0)
    assert parse_when("today 10:00", "America/New_York", now=late_utc) == datetime(2026, 3, 4, 10, 0)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("in 2h", timedelta(hours=2)),
        ("in 30m", timedelta(minutes=30)),
        ("in 1h30m", timedelta(hours=1, minutes=30)),
        ("in 1w2d", timedelta(days=9)),
    ],
)
def test_in_a_duration_is_an_absolute_time(text: str, delta: timedelta) -> None:
    assert parse_when(text, "Europe/Berlin", now=NOW) == NOW + delta


def test_iso_with_an_offset_keeps_it() -> None:
    assert parse_when("2026-12-01T09:00Z", "Europe/Berlin", now=NOW) == datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("next week", "tomorrow 09:00"),
        ("tomorrow", "tomorrow 09:00"),
        ("tomorrow 25:00", "tomorrow 09:00"),
        ("someday 09:00", "tomorrow 09:00"),
        ("", "tomorrow 09:00"),
        ("in 2 hours", "in 2h"),
    ],
)
def test_anything_else_is_refused_with_the_forms_that_work(text: str, advice: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_when(text, "Europe/Berlin", now=NOW)
    assert f"--at {text!r}" in info.value.message and advice in (info.value.fix or "")


@pytest.mark.parametrize("text", ["2", "h", "2x", "-1h", "1m2h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_duration(text)
    assert "2h" in (info.value.fix or "")


def test_since_takes_a_date_or_how_long_ago() -> None:
    assert parse_since("30d", "UTC", now=NOW) == NOW - timedelta(days=30)
    assert parse_since("2026-01-01", "Europe/Berlin") == datetime(2025, 12, 31, 23, tzinfo=UTC)
    with pytest.raises(ValidationFailed):
        parse_since("last year", "UTC", now=NOW)
