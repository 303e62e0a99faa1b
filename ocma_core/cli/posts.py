"""posts: create, list, show, check, import, failed, publish, approve, cancel, retry, delete-published."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ocma_core.cli.common import context, print_json, table, workspace_id, workspace_option


@click.group()
def posts() -> None:
    """Posts and their per-account targets."""


@posts.command("create")
@workspace_option
@click.argument("body")
@click.option(
    "--account", "-a", "accounts", multiple=True, required=True, help="Account id (repeat for several)."
)
@click.option("--at", "at", default=None, help="When, ISO 8601 (a time without offset is in --timezone).")
@click.option("--timezone", default=None, help="IANA timezone (default: the workspace's).")
@click.option("--now", "now", is_flag=True, help="Publish now.")
@click.option("--next-slot", is_flag=True, help="Put it in the next free queue slot.")
@click.option("--draft", is_flag=True, help="Only save a draft.")
@click.option("--thread", multiple=True, help="A follow-up part of a thread (repeat).")
@click.option("--media", multiple=True, help="Media id (upload with POST /v1/media).")
@click.option("--json", "as_json", is_flag=True)
def create(
    workspace: str | None,
    body: str,
    accounts: tuple[str, ...],
    at: str | None,
    timezone: str | None,
    now: bool,
    next_slot: bool,
    draft: bool,
    thread: tuple[str, ...],
    media: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a post (scheduled with --at, now with --now, in a slot with --next-slot, else a draft)."""
    from pydantic import ValidationError

    from ocma_core.errors import ValidationFailed
    from ocma_core.services import posts as svc
    from ocma_core.services.post_input import PostInput

    action = (
        "draft"
        if draft
        else "publish_now"
        if now
        else "next_slot"
        if next_slot
        else "schedule"
        if at
        else "draft"
    )
    ocma = context()
    try:
        data = PostInput(
            body=body,
            account_ids=list(accounts),
            scheduled_at=datetime.fromisoformat(at) if at else None,
            timezone=timezone,
            thread=list(thread),
            media_ids=list(media),
            action=action,
        )
    except (ValidationError, ValueError) as exc:
        raise ValidationFailed(f"Invalid post: {exc}") from None
    ws = workspace_id(ocma, workspace)
    try:
        post = svc.create_post(ocma, ws, data, created_by="cli")
    except ValidationFailed as exc:
        for problem in exc.problems:
            click.echo(f"  {problem.get('platform', '')}: {problem.get('message')}", err=True)
        raise
    summary = svc.post_summary(post, svc.targets_of(ocma, post.id))
    if as_json:
        print_json(summary)
    else:
        click.echo(
            f"Post {post.id} is {post.status}"
            + (f" for {post.scheduled_at.isoformat()}" if post.scheduled_at else "")
            + "."
        )


# The post statuses (ocma_core.db.models.PostStatus), spelt out so `--help` stays light.
STATUSES = (
    "draft",
    "pending_approval",
    "scheduled",
    "publishing",
    "published",
    "partially_published",
    "failed",
    "cancelled",
    "deleted",
)


@posts.command("list")
@workspace_option
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only posts in this status.")
@click.option("--json", "as_json", is_flag=True)
def list_(workspace: str | None, status: str | None, as_json: bool) -> None:
    """List posts, soonest first."""
    from ocma_core.services import posts as svc

    ocma = context()
    found = svc.list_posts(ocma, workspace_id(ocma, workspace), status=status)
    if as_json:
        print_json([svc.post_summary(p, svc.targets_of(ocma, p.id)) for p in found])
        return
    table(
        ["id", "status", "scheduled (UTC)", "text"],
        [[p.id, p.status, p.scheduled_at, p.body[:60]] for p in found],
    )


@posts.command("show")
@workspace_option
@click.argument("post_id")
def show(workspace: str | None, post_id: str) -> None:
    """A post with its targets."""
    from ocma_core.services import posts as svc

    ocma = context()
    post = svc.get_post(ocma, workspace_id(ocma, workspace), post_id)
    print_json(svc.post_summary(post, svc.targets_of(ocma, post.id)))


@posts.command("check")
@click.option("--platform", "-p", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.argument("text")
def check(platform: str, as_json: bool, text: str) -> None:
    """Print TEXT's length as PLATFORM counts it, the limit, and every problem."""
    from ocma_core.platforms import PostContent
    from ocma_core.registry import get_platform

    plat = get_platform(platform)
    limit = plat.limits.text
    problems = [p.as_dict() for p in plat.validate(PostContent(text=text))]
    result = {
        "platform": plat.name,
        "length": limit.count(text),
        "limit": limit.max_length,
        "unit": limit.unit,
        "ok": not problems,
        "problems": problems,
    }
    if as_json:
        print_json(result)
    else:
        click.echo(f"{plat.display_name or plat.name}: {result['length']}/{result['limit']} {limit.unit}")
        for problem in problems:
            click.echo(f"  - {problem['message']}")
        click.echo("OK" if not problems else "Not publishable as is.")
    if problems:
        raise SystemExit(1)


@posts.command("import")
@workspace_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True, help="Import the valid rows even if some are invalid.")
def import_(workspace: str | None, file: Path, partial: bool) -> None:
    """Import posts from CSV; every row is validated first."""
    from rich.progress import Progress

    from ocma_core.services.post_import import import_csv, parse_rows

    ocma = context()
    ws = workspace_id(ocma, workspace)
    text = file.read_text(encoding="utf-8-sig")
    good, _ = parse_rows(ocma, ws, text)
    with Progress(transient=True) as progress:
        task = progress.add_task("Importing", total=len(good))
        report = import_csv(ocma, ws, text, partial=partial, progress=lambda n: progress.advance(task, n))
    for problem in report.problems:
        click.echo(
            f"row {problem['row']}: {problem.get('platform', '')} {problem['field']}: {problem['message']}",
            err=True,
        )
    click.echo(f"{len(report.imported)} of {report.rows} rows imported.")
    if report.problems and not partial:
        click.echo(
            "Nothing was imported because some rows are invalid (fix them, or use --partial).", err=True
        )
        raise SystemExit(1)


@posts.command("failed")
@workspace_option
def failed(workspace: str | None) -> None:
    """Failed and held targets with the reason."""
    from ocma_core.services import posts as svc

    ocma = context()
    table(
        ["post", "platform", "status", "attempts", "reason"],
        [
            [p.id, t.platform, t.status, t.attempts, t.last_error]
            for t, p in svc.failed_targets(ocma, workspace_id(ocma, workspace))
        ],
    )


def _action(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @workspace_option
    @click.argument("post_id")
    def command(workspace: str | None, post_id: str) -> None:
        from ocma_core.services import posts as svc

        ocma = context()
        fn = {
            "publish": svc.publish_now,
            "approve": svc.approve_post,
            "cancel": svc.cancel_post,
            "retry": svc.retry_post,
        }[name]
        post = fn(ocma, workspace_id(ocma, workspace), post_id)
        click.echo(f"Post {post.id} is {post.status}.")

    return command


for _name, _help in (
    ("publish", "Publish a post now."),
    ("approve", "Approve a post waiting for approval."),
    ("cancel", "Cancel what has not gone out."),
    ("retry", "Retry failed or held targets."),
):
    posts.add_command(_action(_name, _help))


@posts.command("delete-published")
@workspace_option
@click.argument("post_id")
@click.option(
    "--account", "-a", "accounts", multiple=True, help="Only from this account id (repeat; default: all)."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
def delete_published(
    workspace: str | None, post_id: str, accounts: tuple[str, ...], yes: bool, as_json: bool
) -> None:
    """Delete a published post from the platforms (every part of a thread). This cannot be undone."""
    from ocma_core.services.deletion import delete_published_sync, deletion_plan

    ocma = context()
    ws = workspace_id(ocma, workspace)
    chosen = list(accounts) or None
    plan = deletion_plan(ocma, ws, post_id, chosen)
    if not yes:
        click.echo(f"Post {post_id}: {plan.post.body[:70]!r}")
        for item in plan.to_delete:
            parts = f"{len(item.parts)} parts" if len(item.parts) > 1 else "1 post"
            click.echo(f"  {item.target.platform} @{item.account.handle}: {parts} {item.target.url or ''}")
        click.confirm(
            f"Delete it from {len(plan.to_delete)} account(s)? This cannot be undone",
            default=False,
            abort=True,
        )
    results = delete_published_sync(ocma, ws, post_id, account_ids=chosen, by="cli")
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        table(
            ["platform", "account", "result", "parts deleted", "reason"],
            [[r.platform, r.handle, r.status, f"{r.parts_deleted}/{r.parts}", r.reason] for r in results],
        )
    if any(r.status == "failed" for r in results):
        raise SystemExit(1)
