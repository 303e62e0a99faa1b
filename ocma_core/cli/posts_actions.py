"""posts: check, import, failed, publish, approve, cancel, retry, delete-published (added to `ocma posts`)."""

from __future__ import annotations

from pathlib import Path

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    examples,
    json_option,
    print_json,
    table,
    workspace_id,
    workspace_option,
)


@examples(
    'ocma posts check --platform x "Launching today! https://example.com"',
    'ocma posts check -p bluesky "Hello world" --json',
)
@click.command("check")
@click.option("--platform", "-p", required=True, help="Platform name, e.g. x, bluesky, linkedin, mastodon.")
@json_option
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


@examples("ocma posts import posts.csv", "ocma posts import posts.csv --partial")
@click.command("import")
@workspace_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True, help="Import the valid rows even if some are invalid.")
def import_(workspace: str | None, file: Path, partial: bool) -> None:
    """Import posts from the CSV FILE; every row is validated first (docs/getting-started.md: columns)."""
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


@examples("ocma posts failed", "ocma posts failed --json")
@click.command("failed")
@workspace_option
@json_option
def failed(workspace: str | None, as_json: bool) -> None:
    """Failed and held targets with the reason (retry with `ocma posts retry POST_ID`)."""
    from ocma_core.services import posts as svc

    ocma = context()
    rows = [
        {
            "post_id": p.id,
            "target_id": t.id,
            "account_id": t.account_id,
            "platform": t.platform,
            "status": t.status,
            "attempts": t.attempts,
            "reason": t.last_error,
        }
        for t, p in svc.failed_targets(ocma, workspace_id(ocma, workspace))
    ]
    emit_list(
        rows,
        [
            Column("post", "post_id", kind="id"),
            Column("platform", "platform"),
            Column("status", "status"),
            Column("attempts", "attempts"),
            Column("reason", "reason", kind="text"),
        ],
        as_json=as_json,
        empty="Nothing failed or held.",
    )


_ACTIONS = {
    "publish": ("Publish POST_ID now.", "publish_now"),
    "approve": ("Approve POST_ID, waiting for approval: it is scheduled for its time.", "approve_post"),
    "cancel": ("Cancel what of POST_ID has not gone out.", "cancel_post"),
    "retry": ("Retry POST_ID's failed or held targets.", "retry_post"),
}


def _action(name: str) -> click.Command:
    help_text, function = _ACTIONS[name]

    @examples(f"ocma posts {name} POST_ID")
    @click.command(name, help=help_text)
    @workspace_option
    @click.argument("post_id")
    @json_option
    def command(workspace: str | None, post_id: str, as_json: bool) -> None:
        from ocma_core.services import posts as svc

        ocma = context()
        post = getattr(svc, function)(ocma, workspace_id(ocma, workspace), post_id)
        if as_json:
            print_json(svc.post_summary(post, svc.targets_of(ocma, post.id)))
        else:
            click.echo(f"Post {post.id} is {post.status}.")

    return command


ACTIONS = [_action(name) for name in _ACTIONS]


@examples(
    "ocma posts delete-published POST_ID",
    "ocma posts delete-published POST_ID --account ACCOUNT_ID --yes",
)
@click.command("delete-published")
@workspace_option
@click.argument("post_id")
@click.option(
    "--account", "-a", "accounts", multiple=True, help="Only from this account id (repeat; default: all)."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
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
        excerpt = plan.post.body if len(plan.post.body) <= 70 else plan.post.body[:69] + "…"
        click.echo(f"Post {post_id}: “{excerpt}”")
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
