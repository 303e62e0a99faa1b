"""Recurrence and queue slots keep local wall-clock times across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocma_core.errors import ValidationFailed
from ocma_core.recurrence import Rule, local_to_utc, next_occurrence, slot_times

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata", "UTC"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    days=st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
)
def test_weekly_keeps_local_time(zone: str, start: datetime, hour: int, minute: int, days: list[int]) -> None:
    rule = Rule.parse({"weekdays": days, "times": [f"{hour:02d}:{minute:02d}"]})
    tz = ZoneInfo(zone)
    cursor = start.replace(tzinfo=UTC)
    anchor = datetime(2000, 1, 1, tzinfo=UTC)
    seen = []
    for _ in range(20):  # several weeks, crossing DST changes in the zones that have them
        nxt = next_occurrence(rule, anchor, cursor, zone)
        assert nxt is not None and nxt > cursor
        local = nxt.astimezone(tz)
        assert local.weekday() in days
        expected = local_to_utc(local.date(), time(hour, minute), tz)
        assert nxt == expected  # the wall-clock time (or the first instant after a DST gap)
        seen.append(nxt)
        cursor = nxt
    assert seen == sorted(set(seen))


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    every=st.integers(1, 10),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)),
)
def test_every_n_days_keeps_local_time(zone: str, every: int, start: datetime) -> None:
    tz = ZoneInfo(zone)
    anchor = local_to_utc(start.date(), time(9, 30), tz)
    rule = Rule.parse({"every_days": every})
    cursor = anchor
    for _ in range(15):
        nxt = next_occurrence(rule, anchor, cursor, zone)
        assert nxt is not None
        local = nxt.astimezone(tz)
        assert (local.hour, local.minute) == (9, 30)
        assert (local.date() - anchor.astimezone(tz).date()).days % every == 0
        cursor = nxt


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected_utc"),
    [
        (
            "Europe/Berlin",
            datetime(2026, 3, 29),
            time(2, 30),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),  # gap
        (
            "Europe/Berlin",
            datetime(2026, 10, 25),
            time(2, 30),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),  # fold
        ("America/New_York", datetime(2026, 3, 8), time(9, 0), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 7), time(9, 0), datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),
    ],
)
def test_dst_edges(zone: str, day: datetime, at: time, expected_utc: datetime) -> None:
    assert local_to_utc(day.date(), at, ZoneInfo(zone)) == expected_utc


def test_monday_nine_in_berlin_across_the_change() -> None:
    rule = Rule.parse({"weekdays": ["mon"], "times": ["09:00"]})
    before = next_occurrence(
        rule, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), "Europe/Berlin"
    )
    after = next_occurrence(
        rule, datetime(2026, 1, 1, tzinfo=UTC), before or datetime.now(UTC), "Europe/Berlin"
    )
    assert before == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # CET
    assert after == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST: still 09:00 local


def test_until_and_bad_rules() -> None:
    rule = Rule.parse({"every_days": 1, "until": "2026-01-03T00:00:00+00:00"})
    anchor = datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert next_occurrence(rule, anchor, anchor, "UTC") == anchor + timedelta(days=1)
    assert next_occurrence(rule, anchor, anchor + timedelta(days=2), "UTC") is None
    for bad in (
        {},
        {"every_days": 0},
        {"weekdays": ["funday"], "times": ["09:00"]},
        {"weekdays": ["mon"]},
        {"weekdays": ["mon"], "times": ["25:99"]},
    ):
        with pytest.raises(ValidationFailed):
            Rule.parse(bad)


def test_slot_times_are_local() -> None:
    slots = slot_times(
        {"weekdays": ["tue"], "times": ["08:00", "17:30"]},
        datetime(2026, 6, 1, tzinfo=UTC),
        "America/New_York",
        limit=4,
    )
    assert [s.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M") for s in slots] == [
        "Tue 08:00",
        "Tue 17:30",
        "Tue 08:00",
        "Tue 17:30",
    ]
