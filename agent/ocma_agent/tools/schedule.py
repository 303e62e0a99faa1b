"""Core tools that reach the public: schedule (or reschedule), publish now, retry. The approval policy
decides per call whether they act directly or hold the post as pending_approval (ctx.require_approval)."""

from __future__ import annotations

from typing import Any

from ocma_agent.context import ToolContext
from ocma_agent.times import parse_time
from ocma_agent.tools.common import held, post_view
from ocma_agent.tools.insights import best_slot
from ocma_core.app import calendar, posts
from ocma_core.errors import ValidationFailed


def schedule_post(ctx: ToolContext, post_id: str, when: str) -> dict[str, Any]:
    """Schedule or reschedule a post. Validates it for every platform first.

    Args:
        post_id: The post (a draft, or already scheduled to move it).
        when: ISO time (workspace timezone), "next_slot" (the queue's next free slot) or "best_time"
            (the hour measured best on the accounts' own stored metrics; when no account shows a
            measurable timing effect there is no best time, and the queue's next free slot is used
            instead, as the result's best_time.basis and note say).
    """
    choice = when.strip().lower()
    explanation: dict[str, Any] | None = None
    if choice in ("next_slot", "next slot"):
        at, next_slot = None, True
    elif choice in ("best_time", "best time"):
        post = posts.get_post(ctx.ocma, ctx.workspace_id, post_id)
        account_ids = [t.account_id for t in posts.targets_of(ctx.ocma, post.id)]
        if not account_ids:
            raise ValidationFailed("The post has no accounts.", fix="Add accounts with edit_post first.")
        at, explanation = best_slot(ctx, account_ids)
        next_slot = at is None  # nothing measured: never act on a guess, use the queue's slots
        if next_slot:
            explanation["note"] = (
                "No measured best time for these accounts; scheduled at the queue's next free slot instead."
            )
    else:
        at, next_slot = parse_time(when, ctx.timezone), False
    try:
        post = calendar.schedule_existing(
            ctx.ocma,
            ctx.workspace_id,
            post_id,
            at,
            next_slot=next_slot,
            require_approval=ctx.require_approval,
        )
    except ValidationFailed as exc:
        if explanation is None or at is not None:
            raise
        raise ValidationFailed(
            f"No measured best time for these accounts ({explanation.get('reason')}), and no queue slot "
            f"to use instead: {exc}",
            fix="Ask the person for a time, or set queue slots (workspace setting queue_slots).",
        ) from None
    if str(post.status) == "pending_approval":
        held(ctx, post, "schedule")
    view = post_view(ctx, post)
    if explanation is not None:
        view["best_time"] = explanation
    view["policy"] = ctx.approval_reason
    return view


def publish_now(ctx: ToolContext, post_id: str) -> dict[str, Any]:
    """Publish a draft or scheduled post right away. Validates it for every platform first.

    Args:
        post_id: The post.
    """
    post = calendar.publish_existing(
        ctx.ocma, ctx.workspace_id, post_id, require_approval=ctx.require_approval
    )
    if str(post.status) == "pending_approval":
        held(ctx, post, "publish")
    return {**post_view(ctx, post), "policy": ctx.approval_reason}


def retry_post(ctx: ToolContext, post_id: str) -> dict[str, Any]:
    """Publish a post's failed targets again now (after fixing what made them fail).

    Args:
        post_id: The post.
    """
    post = calendar.retry_existing(ctx.ocma, ctx.workspace_id, post_id, require_approval=ctx.require_approval)
    if str(post.status) == "pending_approval":
        held(ctx, post, "retry")
    return {**post_view(ctx, post), "policy": ctx.approval_reason}
