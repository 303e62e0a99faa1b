"""posts: create, schedule, list, show (and the commands of posts_actions.py and posts_held.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

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


@click.group()
def posts() -> None:
    """Posts and their per-account targets."""


Action = Literal["draft", "publish_now", "next_slot", "schedule"]


def _action_of(draft: bool, now: bool, next_slot: bool, when: datetime | None) -> Action:
    if draft:
        return "draft"
    if now:
        return "publish_now"
    if next_slot:
        return "next_slot"
    return "schedule" if when is not None else "draft"


def _when(at: str | None, in_: str | None, timezone: str) -> datetime | None:
    from ocma_core.errors import ValidationFailed
    from ocma_core.when import parse_duration, parse_when

    if at and in_:
        raise ValidationFailed("Give --at or --in, not both.", fix="Keep the one you meant.")
    if in_:
        return datetime.now(UTC) + parse_duration(in_)
    return parse_when(at, timezone) if at else None


@examples(
    'ocma posts create "Ideas for the launch"  # a draft: no account, no time',
    'ocma posts create "Doors open at 9!" -a ACCOUNT_ID --at "tomorrow 09:00"',
    'ocma posts create "Live now" -a ACCOUNT_ID --in 2h',
    'ocma posts create "Hello" -a ACCOUNT_ID -a OTHER_ID --now',
    'ocma posts create "With a photo" -a ACCOUNT_ID --media MEDIA_ID --next-slot',
)
@posts.command("create")
@workspace_option
@click.argument("body")
@click.option(
    "--account",
    "-a",
    "accounts",
    multiple=True,
    help="Account id to publish to (repeat for several; see `ocma accounts list`). None: a draft.",
)
@click.option(
    "--at",
    "at",
    default=None,
    help="When: 2026-03-03T09:00, 'today 17:30', 'tomorrow 09:00', 'monday 09:00' or 'in 2h' "
    "(a time without offset is in --timezone).",
)
@click.option("--in", "in_", default=None, help="How long from now: 30m, 2h, 1d, 1h30m.")
@click.option("--timezone", default=None, help="IANA timezone of --at (default: the workspace's).")
@click.option("--now", "now", is_flag=True, help="Publish now.")
@click.option("--next-slot", is_flag=True, help="Put it in the next free queue slot.")
@click.option("--draft", is_flag=True, help="Only save a draft (the default without --at/--in/--now).")
@click.option("--thread", multiple=True, help="A follow-up part of a thread (repeat, in order).")
@click.option("--media", multiple=True, help="Media id to attach (repeat; from `ocma media upload FILE`).")
@click.option(
    "--option",
    "options",
    multiple=True,
    help="A platform option, PLATFORM.NAME=VALUE (repeat), e.g. tiktok.privacy_level=SELF_ONLY.",
)
@json_option
def create(
    workspace: str | None,
    body: str,
    accounts: tuple[str, ...],
    at: str | None,
    in_: str | None,
    timezone: str | None,
    now: bool,
    next_slot: bool,
    draft: bool,
    thread: tuple[str, ...],
    media: tuple[str, ...],
    options: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a post with BODY: a draft, scheduled (--at/--in), now (--now) or in a slot (--next-slot).

    A post without --account is a draft; add accounts and a time when you schedule it.
    """
    from pydantic import ValidationError

    from ocma_core.errors import ValidationFailed
    from ocma_core.services import posts as svc
    from ocma_core.services.post_input import PostInput
    from ocma_core.services.workspaces import get_workspace

    ocma = context()
    ws = workspace_id(ocma, workspace)
    when = _when(at, in_, timezone or get_workspace(ocma, ws).timezone)
    action = _action_of(draft, now, next_slot, when)
    if action != "draft" and not accounts:
        raise ValidationFailed(
            "A post that goes out needs at least one account.",
            fix="Add --account ACCOUNT_ID (see `ocma accounts list`), or leave out --at/--in/--now/--next-slot "
            "to save a draft.",
        )
    try:
        data = PostInput(
            body=body,
            account_ids=list(accounts),
            scheduled_at=when,
            timezone=timezone,
            thread=list(thread),
            media_ids=list(media),
            action=action,
            options=platform_options(options),
        )
    except ValidationError as exc:
        problems = [{"field": _option_of(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise ValidationFailed("The post is not valid.", problems) from None
    post = svc.create_post(ocma, ws, data, created_by="cli")
    summary = svc.post_summary(post, svc.targets_of(ocma, post.id))
    if as_json:
        print_json(summary)
        return
    click.echo(outcome_line(post, action, get_workspace(ocma, ws).timezone))
    if post.status == "draft" and not accounts:
        click.echo(f"Schedule it later: ocma posts schedule {post.id} -a ACCOUNT_ID --at TIME", err=True)


def platform_options(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """`PLATFORM.NAME=VALUE` pairs as per-platform options; a VALUE that is JSON (true, 3, "x") is read as such."""
    import json

    from ocma_core.errors import ValidationFailed

    found: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        platform, dot, name = key.strip().partition(".")
        if not (sep and dot and platform and name):
            raise ValidationFailed(
                f"--option {pair!r} is not PLATFORM.NAME=VALUE.",
                fix="e.g. --option tiktok.privacy_level=SELF_ONLY",
            )
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        found.setdefault(platform.lower(), {})[name] = value
    return found


# PostInput fields as the options that set them, so a problem names what the person typed.
_OPTIONS = {
    "account_ids": "--account",
    "scheduled_at": "--at",
    "media_ids": "--media",
    "thread": "--thread",
    "options": "--option",
}


def _option_of(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else ""
    return _OPTIONS.get(field, f"--{field}" if field and field != "body" else field)


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


@examples(
    "ocma posts list",
    "ocma posts list --status failed",
    "ocma posts list --account ACCOUNT_ID --json",
)
@posts.command("list")
@workspace_option
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only posts in this status.")
@click.option("--account", "-a", default=None, help="Only posts to this account id.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="At most this many."
)
@json_option
def list_(workspace: str | None, status: str | None, account: str | None, limit: int, as_json: bool) -> None:
    """List posts, soonest first (drafts last)."""
    from ocma_core.services import posts as svc
    from ocma_core.services.workspaces import get_workspace

    ocma = context()
    ws = workspace_id(ocma, workspace)
    zone = get_workspace(ocma, ws).timezone
    found = svc.list_posts(ocma, ws, status=status, account_id=account, limit=limit)
    emit_list(
        [svc.post_summary(p, svc.targets_of(ocma, p.id)) for p in found],
        [
            Column("id", "id", kind="id"),
            Column("status", "status"),
            Column(f"scheduled ({zone})", lambda r: _local(r["scheduled_at"], zone)),
            Column("targets", lambda r: len(r["targets"])),
            Column("text", "body", kind="text", max_chars=60),
        ],
        as_json=as_json,
        empty='No posts here yet: ocma posts create "Your text" saves a draft.',
    )


def outcome_line(post: Any, action: str, timezone: str) -> str:
    """What became of a post, in words a person reads: when in their zone (and UTC), and what to do next."""
    status = str(post.status)
    if status == "pending_approval":
        return f"Post {post.id} waits for approval: `ocma posts approve {post.id}` (or approve it in Slack)."
    if action == "publish_now" and status == "scheduled":
        return f"Post {post.id} is queued to publish now; follow it with `ocma posts show {post.id}`."
    if post.scheduled_at is None:
        return f"Post {post.id} is {status}."
    return f"Post {post.id} is {status} for {local_and_utc(post.scheduled_at, timezone)}."


def local_and_utc(when: datetime, timezone: str) -> str:
    """`2026-12-04 09:00 Europe/Berlin (08:00 UTC)`; just UTC when the zone is UTC."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(timezone))
    if local.utcoffset() == timedelta(0) and timezone in ("UTC", "Etc/UTC"):
        return f"{local:%Y-%m-%d %H:%M} UTC"
    utc = aware.astimezone(UTC)
    day = "" if utc.date() == local.date() else f"{utc:%Y-%m-%d} "
    return f"{local:%Y-%m-%d %H:%M} {timezone} ({day}{utc:%H:%M} UTC)"


def _local(iso: str | None, zone: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if iso else ""


@examples("ocma posts show POST_ID", "ocma posts show POST_ID --json")
@posts.command("show")
@workspace_option
@click.argument("post_id")
@json_option
def show(workspace: str | None, post_id: str, as_json: bool) -> None:
    """POST_ID with its text, schedule and each account's target (status, link, error)."""
    from ocma_core.services import posts as svc

    ocma = context()
    post = svc.get_post(ocma, workspace_id(ocma, workspace), post_id)
    summary = svc.post_summary(post, svc.targets_of(ocma, post.id))
    if as_json:
        print_json(summary)
        return
    from ocma_core.services.workspaces import get_workspace

    zone = post.timezone or get_workspace(ocma, workspace_id(ocma, workspace)).timezone
    when = local_and_utc(post.scheduled_at, zone) if post.scheduled_at else "not scheduled"
    click.echo(f"Post {post.id}: {post.status}, {when}")
    click.echo(post.body)
    for index, part in enumerate(post.thread, 1):
        click.echo(f"  [{index}] {part}")
    for name, text in post.variants.items():
        click.echo(f"  ({name}) {text}")
    if post.media_ids:
        click.echo(f"media: {', '.join(post.media_ids)}")
    if not summary["targets"]:
        click.echo(f"No accounts yet: ocma posts schedule {post.id} -a ACCOUNT_ID --at TIME")
        return
    table(
        ["target", "account", "platform", "status", "tries", "link or error"],
        [
            [t["id"], t["account_id"], t["platform"], t["status"], t["attempts"], t["url"] or t["error"]]
            for t in summary["targets"]
        ],
    )


@examples(
    'ocma posts schedule POST_ID -a ACCOUNT_ID --at "friday 10:00"',
    "ocma posts schedule POST_ID --in 3h",
    "ocma posts schedule POST_ID -a ACCOUNT_ID --next-slot",
)
@posts.command("schedule")
@workspace_option
@click.argument("post_id")
@click.option(
    "--account", "-a", "accounts", multiple=True, help="Add this account id (repeat); kept: the post's own."
)
@click.option("--at", "at", default=None, help="When (the forms of `ocma posts create --at`).")
@click.option("--in", "in_", default=None, help="How long from now: 30m, 2h, 1d.")
@click.option("--timezone", default=None, help="IANA timezone of --at (default: the post's).")
@click.option("--now", "now", is_flag=True, help="Publish now.")
@click.option("--next-slot", is_flag=True, help="Put it in the next free queue slot.")
@json_option
def schedule(
    workspace: str | None,
    post_id: str,
    accounts: tuple[str, ...],
    at: str | None,
    in_: str | None,
    timezone: str | None,
    now: bool,
    next_slot: bool,
    as_json: bool,
) -> None:
    """Schedule POST_ID (a draft, or a scheduled post to move), adding accounts with --account."""
    from ocma_core.errors import ValidationFailed
    from ocma_core.services import posts as svc
    from ocma_core.services.post_input import PostInput

    ocma = context()
    ws = workspace_id(ocma, workspace)
    post = svc.get_post(ocma, ws, post_id)
    when = _when(at, in_, timezone or post.timezone)
    action = _action_of(False, now, next_slot, when)
    if action == "draft":
        raise ValidationFailed("Say when.", fix="Add --at TIME, --in 2h, --now or --next-slot.")
    current = [t.account_id for t in svc.targets_of(ocma, post.id)]
    account_ids = current + [a for a in accounts if a not in current]
    if not account_ids:
        raise ValidationFailed(
            "The post has no account to go to.", fix="Add --account ACCOUNT_ID (see `ocma accounts list`)."
        )
    recurrence = {k: v for k, v in post.recurrence.items() if k != "index"} if post.recurrence else None
    data = PostInput(
        body=post.body,
        account_ids=account_ids,
        media_ids=post.media_ids,
        variants=post.variants,
        thread=post.thread,
        options=post.options,
        scheduled_at=when,
        timezone=timezone or post.timezone,
        recurrence=recurrence,
        action=action,
    )
    post = svc.update_post(ocma, ws, post_id, data)
    if as_json:
        print_json(svc.post_summary(post, svc.targets_of(ocma, post.id)))
        return
    from ocma_core.services.workspaces import get_workspace

    line = outcome_line(post, action, get_workspace(ocma, ws).timezone)
    click.echo(f"{line} Accounts: {len(account_ids)}.")


def _add_commands() -> None:
    from ocma_core.cli import posts_actions as more
    from ocma_core.cli import posts_held

    for command in (
        more.check,
        more.import_,
        more.failed,
        posts_held.held,
        *more.ACTIONS,
        more.delete_published,
    ):
        posts.add_command(command)


_add_commands()
