"""Core tools for accounts and posts: list accounts, draft, edit, validate, cancel, calendar."""

from __future__ import annotations

from typing import Any

from ocma_agent.context import ToolContext
from ocma_agent.times import local, parse_day, parse_time
from ocma_agent.tools.common import held, post_view
from ocma_core.app import calendar, posts
from ocma_core.app.accounts import list_accounts as accounts_of
from ocma_core.app.accounts import settings_view
from ocma_core.app.posts import PostInput


def list_accounts(ctx: ToolContext) -> dict[str, Any]:
    """List the workspace's connected social accounts with their ids and health."""
    rows = []
    for account in accounts_of(ctx.ocma, ctx.workspace_id):
        row: dict[str, Any] = {
            "account_id": account.id,
            "platform": account.platform,
            "handle": account.handle,
            "status": str(account.status),
        }
        if account.last_error and str(account.status) != "connected":
            row["problem"] = account.last_error
            row["fix"] = f"reconnect: `ocma accounts connect {account.platform}`"
        if account.expires_at is not None and not account.refresh_token_enc:
            row["token_expires"] = local(account.expires_at, ctx.timezone)
        settings = settings_view(account)
        if settings:
            row["settings"] = settings  # changeable with set_account_setting
        rows.append(row)
    return {"accounts": rows, "timezone": ctx.timezone}


def draft_post(
    ctx: ToolContext,
    text: str,
    account_ids: list[str],
    variants: dict[str, str] | None = None,
    thread: list[str] | None = None,
    media_ids: list[str] | None = None,
    planned_at: str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Save a draft post for some accounts and check it against each platform's rules (nothing is published).

    Args:
        text: The post text.
        account_ids: Accounts it is for (from list_accounts).
        variants: Text per platform name (x, linkedin, ...) or account id, replacing `text` there.
        thread: Follow-up parts, for platforms with threads.
        media_ids: Images or videos to attach (from generate_image or uploads).
        planned_at: Optional planned time to show it on the calendar (it stays a draft).
        options: Platform options per platform name, e.g. {"tiktok": {"privacy_level": "SELF_ONLY"}} (TikTok
            needs the person to choose privacy_level: ask them), {"pinterest": {"board_id": "...", "title": "..."}}.
    """
    data = PostInput(
        body=text,
        account_ids=account_ids,
        variants=variants or {},
        thread=thread or [],
        media_ids=media_ids or [],
        action="draft",
        options=options or {},
    )
    when = parse_time(planned_at, ctx.timezone) if planned_at else None
    post = calendar.plan_draft(
        ctx.ocma,
        ctx.workspace_id,
        data,
        when,
        created_by=f"agent:{ctx.caller.label()}",
        untrusted=ctx.written_from(),
    )
    return post_view(ctx, post, validate=True)


def edit_post(
    ctx: ToolContext,
    post_id: str,
    text: str | None = None,
    variants: dict[str, str] | None = None,
    thread: list[str] | None = None,
    account_ids: list[str] | None = None,
    media_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Change a post's text, per-platform variants, thread, accounts or media; omitted fields stay.

    Args:
        post_id: The post.
        text: New main text.
        variants: Text per platform name or account id (replaces all variants).
        thread: New follow-up parts.
        account_ids: New set of accounts.
        media_ids: New set of media.
    """
    post = calendar.edit_post_content(
        ctx.ocma,
        ctx.workspace_id,
        post_id,
        body=text,
        variants=variants,
        thread=thread,
        media_ids=media_ids,
        account_ids=account_ids,
        require_approval=ctx.require_approval,
        untrusted=ctx.written_from(),
    )
    if str(post.status) == "pending_approval" and ctx.require_approval:
        held(ctx, post, "edit")
    return post_view(ctx, post, validate=True)


def validate_post(ctx: ToolContext, post_id: str) -> dict[str, Any]:
    """Show a post with each platform's length count, limit and problems.

    Args:
        post_id: The post.
    """
    return post_view(ctx, posts.get_post(ctx.ocma, ctx.workspace_id, post_id), validate=True)


def cancel_post(ctx: ToolContext, post_id: str) -> dict[str, Any]:
    """Cancel a post's targets that have not gone out (published ones stay published).

    Args:
        post_id: The post.
    """
    return post_view(ctx, posts.cancel_post(ctx.ocma, ctx.workspace_id, post_id))


def calendar_view(ctx: ToolContext, start: str, end: str, status: str | None = None) -> dict[str, Any]:
    """List posts planned or scheduled between two dates (drafts with a planned time included).

    Args:
        start: First day (YYYY-MM-DD) or time, workspace timezone.
        end: Last day (inclusive) or time.
        status: Only this status: draft, pending_approval, scheduled, published, partially_published, failed,
            cancelled, deleted.
    """
    first, last = parse_day(start, ctx.timezone), parse_day(end, ctx.timezone, end=True)
    entries = calendar.calendar_entries(ctx.ocma, ctx.workspace_id, first, last, status=status)
    for entry in entries:
        if entry["at"]:
            from datetime import datetime

            entry["at"] = local(datetime.fromisoformat(entry["at"]), ctx.timezone)
    return {"from": local(first, ctx.timezone), "until": local(last, ctx.timezone), "posts": entries}
