"""Compact, JSON-ready views of posts and validation that tools hand back to the model."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from ocma_agent.context import ToolContext
from ocma_agent.times import local
from ocma_core.app.models import Account, Post, Target
from ocma_core.app.posts import check_targets


def accounts_and_targets(ctx: ToolContext, post: Post) -> tuple[list[Target], dict[str, Account]]:
    """A post's targets and their accounts."""
    with ctx.ocma.session() as session:
        targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
        ids = [t.account_id for t in targets]
        accounts = (
            {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(ids)))} if ids else {}
        )
    return targets, accounts


def validation(ctx: ToolContext, post: Post, accounts: list[Account]) -> list[dict[str, Any]]:
    """Each platform's verdict on the post: its own length count, limit and problems."""
    return [
        {
            "platform": c.platform,
            "account": c.handle,
            "length": c.length,
            "limit": c.limit,
            "unit": c.unit,
            "ok": c.ok,
            **({"problems": [p["message"] for p in c.problems]} if c.problems else {}),
        }
        for c in check_targets(ctx.ocma, ctx.workspace_id, post, accounts)
    ]


def post_view(ctx: ToolContext, post: Post, *, validate: bool = False) -> dict[str, Any]:
    """The post as the model sees it: status, time (workspace timezone), text, variants, targets."""
    targets, accounts = accounts_and_targets(ctx, post)
    view: dict[str, Any] = {
        "post_id": post.id,
        "status": str(post.status),
        "at": local(post.scheduled_at, ctx.timezone),
        "text": post.body,
    }
    if post.untrusted_sources:
        view["untrusted_from"] = list(post.untrusted_sources)
    if post.variants:
        view["variants"] = post.variants
    if post.thread:
        view["thread"] = post.thread
    if post.media_ids:
        view["media_ids"] = post.media_ids
    view["targets"] = [
        {
            "platform": t.platform,
            "account": accounts[t.account_id].handle if t.account_id in accounts else t.account_id,
            "status": str(t.status),
            **({"url": t.url} if t.url else {}),
            **({"error": t.last_error} if t.last_error else {}),
        }
        for t in targets
    ]
    if validate:
        checks = validation(ctx, post, [accounts[t.account_id] for t in targets if t.account_id in accounts])
        view["validation"] = checks
        view["valid"] = all(c["ok"] for c in checks)
    return view


def held(ctx: ToolContext, post: Post, action: str) -> None:
    """Report a post that now waits for approval (the agent asks a person, or says how to approve)."""
    targets, accounts = accounts_and_targets(ctx, post)
    names = [
        f"{t.platform} @{accounts[t.account_id].handle}" if t.account_id in accounts else t.platform
        for t in targets
    ]
    ctx.request_approval(post.id, action, post.scheduled_at, names, post.body)
