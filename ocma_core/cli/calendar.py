"""calendar: the posts of the coming days (and today's published ones), in the workspace's timezone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click

from ocma_core.cli.common import context, print_json, workspace_option


@click.command("calendar")
@workspace_option
@click.option(
    "--days", type=click.IntRange(1, 366), default=7, show_default=True, help="How many days to show."
)
@click.option("--from", "start", default=None, help="First day, YYYY-MM-DD (default: today).")
@click.option("--status", default=None, help="Only posts in this status (e.g. scheduled, pending_approval).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def calendar(workspace: str | None, days: int, start: str | None, status: str | None, as_json: bool) -> None:
    """Posts planned, scheduled or published from today (or --from) for --days days.

    Times are in the workspace's timezone. Example: `ocma calendar --days 14`.
    """
    from zoneinfo import ZoneInfo

    from ocma_core.errors import ValidationFailed
    from ocma_core.services.calendar import calendar_entries
    from ocma_core.services.workspaces import resolve_workspace

    ocma = context()
    ws = resolve_workspace(ocma, workspace)
    zone = ZoneInfo(ws.timezone)
    try:
        first_day = datetime.fromisoformat(start).date() if start else datetime.now(zone).date()
    except ValueError:
        raise ValidationFailed(
            f"--from {start!r} is not a date.", fix="Use YYYY-MM-DD, e.g. --from 2030-01-31."
        ) from None
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
        click.echo("Nothing planned. Schedule a post with `ocma posts create TEXT -a ACCOUNT_ID --at WHEN`.")
        return
    day = ""
    for entry in entries:
        when = datetime.fromisoformat(entry["at"])  # the calendar holds posts with a time only
        if f"{when:%a %d %b}" != day:
            day = f"{when:%a %d %b}"
            click.echo(f"\n{day}")
        click.echo(_line(entry, when))


def _line(entry: dict[str, Any], when: datetime) -> str:
    """One post: time, status and text, then where it goes (each target's status) and its full id."""
    accounts = ", ".join(f"{t['platform']}:{t['account']} ({t['status']})" for t in entry["targets"])
    text = " ".join(entry["text"].split())
    text = text if len(text) <= 60 else text[:57] + "..."
    return (
        f"  {when:%H:%M}  {entry['status']:<19} {text}\n"
        f"         to {accounts or 'no account yet'} · post {entry['post_id']}"
    )
