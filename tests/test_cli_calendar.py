"""`ocma calendar`: the coming days in the workspace's timezone, grouped by day, with full post ids."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ocma_core.context import Ocma
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(ocma: Ocma, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `ocma ...` on the test's database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")

    def invoke(*argv: str) -> tuple[int, str, str]:
        from ocma_core.cli.main import main

        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        captured = capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err

    return invoke


def local_day(days: int, hour: int) -> datetime:
    """A wall-clock time `days` from today in the workspace's zone (Europe/Berlin), never stale."""
    zone = ZoneInfo("Europe/Berlin")
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=zone)


def schedule(ocma: Ocma, workspace_id: str, account_id: str, text: str, when: datetime) -> str:
    data = PostInput(body=text, account_ids=[account_id], scheduled_at=when, action="schedule")
    return posts.create_post(ocma, workspace_id, data).id


def test_shows_the_coming_week_by_day_in_local_time(
    cli: Run, ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    later = schedule(ocma, workspace_id, account_id, "Friday\nnews", local_day(3, 14))
    sooner = schedule(ocma, workspace_id, account_id, "Tomorrow's news", local_day(1, 9))
    beyond = schedule(ocma, workspace_id, account_id, "Next month", local_day(30, 9))

    code, out, err = cli("calendar")

    assert code == 0, err
    assert "Test team:" in out and "(Europe/Berlin)" in out
    tomorrow, in_three = local_day(1, 9), local_day(3, 14)
    assert (
        out.index(f"{tomorrow:%a %d %b}") < out.index("09:30  scheduled") < out.index(f"{in_three:%a %d %b}")
    )
    assert "14:30  scheduled           Friday news" in out  # one line per post, whatever its text
    assert f"post {sooner}" in out and f"post {later}" in out and beyond not in out  # ids never cut
    assert "to fakesocial:" in out


def test_json_days_and_status(cli: Run, ocma: Ocma, workspace_id: str, account_id: str) -> None:
    post_id = schedule(ocma, workspace_id, account_id, "In two weeks", local_day(14, 9))

    code, out, _ = cli("calendar", "--days", "21", "--json")
    short_code, short, _ = cli("calendar", "--status", "draft", "--days", "21", "--json")

    assert code == short_code == 0
    [entry] = json.loads(out)["posts"]
    assert entry["post_id"] == post_id and entry["at"] == local_day(14, 9).isoformat(timespec="minutes")
    assert json.loads(short)["posts"] == []


def test_from_takes_a_day_word(cli: Run, ocma: Ocma, workspace_id: str, account_id: str) -> None:
    schedule(ocma, workspace_id, account_id, "The day after", local_day(2, 9))
    tomorrow = schedule(ocma, workspace_id, account_id, "Tomorrow", local_day(1, 9))

    code, out, err = cli("calendar", "--from", "tomorrow", "--days", "1", "--json")

    assert code == 0, err
    assert [p["post_id"] for p in json.loads(out)["posts"]] == [tomorrow]


def test_an_empty_calendar_and_a_bad_date_say_what_to_do(cli: Run, workspace_id: str) -> None:
    code, out, _ = cli("calendar")
    assert (
        code == 0
        and "Nothing planned" in out
        and 'ocma posts create TEXT -a ACCOUNT_ID --at "tomorrow' in out
    )
    code, _, err = cli("calendar", "--from", "next week")
    assert code == 1 and "--from 'next week'" in err and "tomorrow 09:00" in err
