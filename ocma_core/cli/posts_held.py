"""posts held: posts that fell due while their account needed reconnecting, and the choice for each."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    examples,
    json_option,
    print_json,
    workspace_id,
    workspace_option,
)
from ocma_core.errors import ValidationFailed

if TYPE_CHECKING:
    from ocma_core.context import Ocma


@examples(
    "ocma posts held",
    "ocma posts held POST_ID --publish-now",
    'ocma posts held POST_ID --reschedule "tomorrow 09:00"',
    "ocma posts held POST_ID --cancel",
)
@click.command("held")
@workspace_option
@click.argument("post_id", required=False)
@click.option("--publish-now", "choice", flag_value="publish_now", help="Publish the held post now.")
@click.option(
    "--reschedule", "at", default=None, help="Reschedule it to this time (as --at of posts create)."
)
@click.option("--timezone", default=None, help="IANA timezone of --reschedule (default: the workspace's).")
@click.option("--cancel", "choice", flag_value="cancel", help="Cancel it.")
@json_option
def held(
    workspace: str | None,
    post_id: str | None,
    choice: str | None,
    at: str | None,
    timezone: str | None,
    as_json: bool,
) -> None:
    """Posts held while their account needed reconnecting; with POST_ID, publish it now, reschedule or cancel it."""
    from ocma_core.services import held as svc
    from ocma_core.services import posts

    ocma = context()
    ws = workspace_id(ocma, workspace)
    if post_id is None:
        rows = [
            {**t, "post_id": p["post_id"], "choices": p["choices"]}
            for p in svc.held_posts(ocma, ws)
            for t in p["targets"]
        ]
        columns = [
            Column("post", "post_id", kind="id"),
            Column("platform", "platform"),
            Column("account", "handle"),
            Column("was due", "due_at"),
            Column("reason", "reason", kind="text"),
        ]
        emit_list(rows, columns, as_json=as_json, empty="Nothing is held.")
        return
    if at is not None:
        choice = "reschedule"
    if choice is None:
        raise click.UsageError("Say what to do: --publish-now, --reschedule WHEN or --cancel.")
    when = _when(ocma, ws, at, timezone) if at is not None else None
    post = svc.decide_held(ocma, ws, post_id, choice, when)
    if as_json:
        print_json(posts.post_summary(post, posts.targets_of(ocma, post.id)))
    else:
        click.echo(f"Post {post.id} is {post.status}.")


def _when(ocma: Ocma, ws: str, at: str, timezone: str | None) -> datetime:
    """What a person typed, as an aware time (a time without offset is in `timezone` or the workspace's)."""
    from ocma_core.services.workspaces import get_workspace
    from ocma_core.when import parse_when

    name = timezone or get_workspace(ocma, ws).timezone
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Unknown timezone {name!r}.", fix="Use an IANA name, e.g. Europe/Berlin."
        ) from None
    when = parse_when(at, name, option="--reschedule")
    return when if when.tzinfo else when.replace(tzinfo=zone)
