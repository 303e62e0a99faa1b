"""calendar: the posts of the coming days (and today's published ones), in the workspace's timezone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click

from ocma_core.cli.common import context, examples, json_option, print_json, workspace_option
from ocma_core.cli.posts import STATUSES


@examples(
    "ocma calendar  # today and the next 6 days",
    "ocma calendar --days 14 --status scheduled",
    "ocma calendar --from monday --days 5 --json",
)
@click.command("calendar")
@workspace_option
@click.option(
    "--days", type=click.IntRange(1, 366), default=7, show_default=True, help="How many days to show."
)
@click.option(
    "--from",
    "start",
    default=None,
    help="First day: YYYY-MM-DD, today, tomorrow or a weekday (default: today).",
)
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only posts in this status.")
@json_option
def calendar(workspace: str | None, days: int, start: str | None, status: str | None, as_json: bool) -> None:
    """Posts planned, scheduled or published from today (or --from) for --days days.

    Times are in the workspace's timezone.
    """
    from ocma_core.services.calendar import calendar_entries
    from ocma_core.services.workspaces import resolve_workspace

    ocma = context()
    ws = resolve_workspace(ocma, workspace)
    zone = ZoneInfo(ws.timezone)
    first_day = _first_day(start, zone) if start else datetime.now(zone).date()
    begin = datetime.combine(first_day, datetime.min.time(), zone)
    end = begin + timedelta(days=days)
    entries = calendar_entries(ocma, ws.id, begin, end, status=status)
    for entry in entries:
        if entry["at"]:
            entry["at"] = datetime.fromisoformat(entry["at"]).astimezone(zone).isoformat(timespec="minutes")
    if as_json:
        print_json({"from": begin.isoformat(), "until": end.isoformat(), "posts": entries})
        return
    click.echo(
        f"{ws.name}: {first_day:%a %d %b %Y} to {(end - timedelta(days=1)).date():%a %d %b %Y} ({zone})"
    )
    if not entries:
        click.echo(
            'Nothing planned. Schedule a post: ocma posts create TEXT -a ACCOUNT_ID --at "tomorrow 09:00"'
        )
        return
    day = ""
    for entry in entries:
        when = datetime.fromisoformat(entry["at"])  # the calendar holds posts with a time only
        if f"{when:%a %d %b}" != day:
            day = f"{when:%a %d %b}"
            click.echo(f"\n{day}")
        click.echo(_line(entry, when))


def _first_day(text: str, zone: ZoneInfo) -> date:
    """--from as a day: an ISO date, today, tomorrow, a weekday (the next one) or `in 3d`."""
    from ocma_core.when import parse_when

    value = text.strip()
    when = parse_when(f"{value} 00:00" if value.isalpha() else value, str(zone), option="--from")
    return when.astimezone(zone).date() if when.tzinfo else when.date()


def _line(entry: dict[str, Any], when: datetime) -> str:
    """One post: time, status and text, then where it goes (each target's status) and its full id."""
    accounts = ", ".join(f"{t['platform']}:{t['account']} ({t['status']})" for t in entry["targets"])
    text = " ".join(entry["text"].split())
    text = text if len(text) <= 60 else text[:57] + "..."
    return (
        f"  {when:%H:%M}  {entry['status']:<19} {text}\n"
        f"         to {accounts or 'no account yet'} · post {entry['post_id']}"
    )
