"""`ocma notifications`: the workspace's notification feed (its event log with read state), newest first;
`--mark-read` marks what it showed read. Read state is per workspace: marking is for every member."""

from __future__ import annotations

import json

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    examples,
    json_option,
    workspace_id,
    workspace_option,
)


@examples(
    "ocma notifications",
    "ocma notifications --unread",
    "ocma notifications --unread --kind post.failed,account.* --mark-read",
    "ocma notifications --limit 200 --json",
)
@click.command("notifications")
@workspace_option
@click.option("--unread", is_flag=True, help="Only notifications nobody in the workspace marked read.")
@click.option("--kind", default="", help="Comma-separated kinds or prefixes like post.* (default: all).")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True, help="How many to show.")
@click.option(
    "--mark-read", is_flag=True, help="Mark the notifications shown read (for the whole workspace)."
)
@json_option
def notifications(
    workspace: str | None, unread: bool, kind: str, limit: int, mark_read: bool, as_json: bool
) -> None:
    """The newest notifications (stored events) with read state; --mark-read marks those shown read."""
    from ocma_core.services import notifications as feed

    ocma = context()
    ws = workspace_id(ocma, workspace)
    page = feed.list_notifications(ocma, ws, unread=unread, kinds=feed.parse_kinds(kind), limit=limit)
    rows = [feed.as_dict(row) for row in page]
    emit_list(
        rows,
        [
            Column("seq", "seq"),
            Column("at", lambda r: r["at"][:19].replace("T", " ")),
            Column("kind", "kind"),
            Column("read", lambda r: "yes" if r["read"] else "no"),
            Column("data", lambda r: json.dumps(r["data"]), "text", 120),
            Column("id", "id", "id"),
        ],
        as_json=as_json,
        empty="No notifications." if not unread else "No unread notifications.",
    )
    if mark_read and rows:
        marked = feed.mark_read(ocma, ws, ids=[r["id"] for r in rows])
        if not as_json:
            click.echo(f"Marked {marked} read; {feed.unread_count(ocma, ws)} unread left.")
