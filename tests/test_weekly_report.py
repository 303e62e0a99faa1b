"""The weekly report event: due at OCMA_WEEKLY_REPORT_AT in each workspace's timezone, emitted by one worker."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest
from sqlmodel import select
from tests_support import run_worker, weekly_report_due

from ocma_core import hookimpl
from ocma_core.config import Settings, load_settings
from ocma_core.context import Ocma
from ocma_core.db.models import Notification
from ocma_core.engine.weekly import emit_due_reports, last_due, parse_schedule, report_week
from ocma_core.errors import ConfigError
from ocma_core.events import Event
from ocma_core.plugins import PluginHost


class Capture:
    """A plugin that records every event it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def weekly(self) -> list[Event]:
        return [e for e in self.events if e.kind == "report.weekly"]


@pytest.fixture
def capture(plugin_host: PluginHost) -> Capture:
    found = Capture()
    plugin_host.register(found, name="capture")
    return found


def due_a_minute_ago(settings: Settings, timezone: str) -> Ocma:
    """An OCMA whose weekly report fell due a minute ago in `timezone`."""
    return Ocma(weekly_report_due(settings, timezone))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mon 09:00", (0, clock(9, 0))),
        ("Friday 17:30", (4, clock(17, 30))),
        ("sun 0:05", (6, clock(0, 5))),
        ("off", None),
        ("", None),
    ],
)
def test_schedule_is_read(text: str, expected: tuple[int, clock] | None) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["monday", "mo 09:00", "mon 25:00", "mon 9", "every monday 09:00"])
def test_a_bad_schedule_is_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match="mon 09:00"):
        parse_schedule(text)
    with pytest.raises(ConfigError, match="OCMA_WEEKLY_REPORT_AT"):
        load_settings(weekly_report_at=text, _env_file=None)


@pytest.mark.parametrize(
    "now, timezone, expected",
    [
        # Monday 09:30 in Berlin, the day after clocks went forward (CEST, UTC+2): due at 07:00 UTC.
        ("2026-03-30T07:30:00+00:00", "Europe/Berlin", "2026-03-30T07:00:00+00:00"),
        # Monday 08:30 in Berlin: not yet, so last week's Monday 09:00 CET (UTC+1).
        ("2026-03-30T06:30:00+00:00", "Europe/Berlin", "2026-03-23T08:00:00+00:00"),
        # Monday 09:30 in New York is 14:30 UTC.
        ("2026-11-16T14:30:00+00:00", "America/New_York", "2026-11-16T14:00:00+00:00"),
        # Monday 09:00 in Tokyo is midnight UTC; at 23:30 UTC on Sunday (08:30 there) it is not yet due.
        ("2026-11-16T00:30:00+00:00", "Asia/Tokyo", "2026-11-16T00:00:00+00:00"),
        ("2026-11-15T23:30:00+00:00", "Asia/Tokyo", "2026-11-09T00:00:00+00:00"),
    ],
)
def test_the_due_time_is_local_to_the_workspace(now: str, timezone: str, expected: str) -> None:
    assert last_due(datetime.fromisoformat(now), timezone, 0, clock(9, 0)) == datetime.fromisoformat(expected)


def test_the_report_covers_the_last_full_week() -> None:
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    assert report_week(monday, "Europe/Berlin") == "2026-W47"  # Monday 16 to Sunday 22 November
    assert report_week(monday + timedelta(days=4), "Europe/Berlin") == "2026-W47"  # a Friday schedule


def test_emitted_once_per_week_and_not_days_late(
    settings: Settings, workspace_id: str, capture: Capture
) -> None:
    ocma = Ocma(settings.model_copy(update={"weekly_report_at": "mon 09:00"}))
    due = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in the workspace's Berlin time
    assert emit_due_reports(ocma, now=due - timedelta(minutes=1)) == []
    assert emit_due_reports(ocma, now=due + timedelta(minutes=1)) == [workspace_id]
    # Another process, or this one after a restart, finds the week claimed.
    other = Ocma(ocma.settings)
    assert emit_due_reports(other, now=due + timedelta(hours=2)) == []
    # A week whose due time passed more than a day ago is skipped, not sent late.
    assert emit_due_reports(other, now=due + timedelta(days=7, hours=25)) == []
    [event] = capture.weekly()
    assert event.workspace_id == workspace_id
    assert event.payload["period"] == "2026-W47" and event.payload["timezone"] == "Europe/Berlin"
    assert event.payload["start"] == "2026-11-15T23:00:00+00:00"  # Monday 16 November 00:00 in Berlin
    with ocma.session() as session:
        stored = session.exec(select(Notification).where(Notification.kind == "report.weekly")).all()
    assert len(stored) == 1 and stored[0].payload["period"] == "2026-W47"


def test_two_workers_at_the_due_time_emit_it_once(
    settings: Settings, workspace_id: str, capture: Capture
) -> None:
    ocma = due_a_minute_ago(settings, "Europe/Berlin")
    first: list[float] = []

    def settled() -> bool:
        if capture.weekly() and not first:
            first.append(time.monotonic())
        return bool(first) and time.monotonic() - first[0] > 0.3

    pool = run_worker(ocma, settled, timeout=60, workers=2)
    assert all(w.report_checks >= 1 for w in pool)  # both looked
    assert sorted(w.reports_emitted for w in pool) == [0, 1]
    [event] = capture.weekly()
    assert event.workspace_id == workspace_id


def test_off_emits_nothing(settings: Settings, workspace_id: str, capture: Capture) -> None:
    ocma = Ocma(settings.model_copy(update={"weekly_report_at": "off"}))
    assert emit_due_reports(ocma) == []
    pool = run_worker(ocma, lambda: False, timeout=0.3)
    assert pool[0].report_checks == 0 and capture.weekly() == []


def test_a_worker_dying_while_sending_frees_the_week_for_another(
    settings: Settings, workspace_id: str, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.engine import weekly
    from ocma_core.services.once import claim_once

    monkeypatch.setattr(weekly, "SENDING_TTL_S", 0.3)
    ocma = Ocma(settings.model_copy(update={"weekly_report_at": "mon 09:00"}))
    now = datetime(2026, 11, 23, 8, 1, tzinfo=UTC)  # a minute after Monday 09:00 in Berlin
    # A worker claimed the week and died before the event went out.
    assert claim_once(ocma, f"report.weekly:{workspace_id}:2026-W47", 0.3)
    assert emit_due_reports(ocma, now=now) == []  # its claim still holds
    time.sleep(0.4)
    assert emit_due_reports(ocma, now=now + timedelta(minutes=1)) == [workspace_id]  # sent by another
    time.sleep(0.4)  # that claim expires too, but the stored event says the week is done
    assert emit_due_reports(Ocma(ocma.settings), now=now + timedelta(minutes=2)) == []
    assert [e.payload["period"] for e in capture.weekly()] == ["2026-W47"]
