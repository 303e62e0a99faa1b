"""Core tools that use the content and AI services: adapt a post per platform, generate an image."""

from __future__ import annotations

from typing import Any

from ocma_agent.context import ToolContext
from ocma_agent.tools.common import held, post_view
from ocma_core.app import calendar, posts
from ocma_core.app.models import Post
from ocma_core.errors import ConfigError, ValidationFailed


def _unavailable(what: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"{what} is not available in this OCMA installation ({exc}).",
        fix="Write the per-platform text yourself and save it with edit_post (variants), then validate_post.",
    )


async def _report_hold(ctx: ToolContext, before: Post, after: Post) -> None:
    """A scheduled post changed by a generator waits for a person's approval again: say so."""
    import asyncio

    if str(after.status) == "pending_approval" and str(before.status) != "pending_approval":
        await asyncio.to_thread(held, ctx, after, "edit")


async def adapt_post(
    ctx: ToolContext, post_id: str, platforms: list[str] | None = None, instructions: str = ""
) -> dict[str, Any]:
    """Rewrite a post's text for each of its platforms with the content service; each version is checked
    by the platform and saved as that platform's variant.

    Args:
        post_id: The post.
        platforms: Platform names to adapt for (default: the post's platforms).
        instructions: Extra guidance, e.g. "mention the date in the first line".
    """
    import asyncio

    try:
        from ocma_core.app.content import adapt
    except ImportError as exc:
        raise _unavailable("Automatic adaptation", exc) from None
    post = await asyncio.to_thread(posts.get_post, ctx.ocma, ctx.workspace_id, post_id)
    targets = await asyncio.to_thread(posts.targets_of, ctx.ocma, post.id)
    names = platforms or sorted({t.platform for t in targets})
    if not names:
        raise ValidationFailed("The post has no platforms to adapt for.", fix="Add accounts with edit_post.")
    adapted = await adapt(ctx.ocma, ctx.workspace_id, post.body, names, instructions=instructions)
    variants = dict(post.variants)
    for draft in adapted.drafts:
        if draft.ok:
            variants[draft.platform] = draft.text
    updated = await asyncio.to_thread(
        calendar.edit_post_content,
        ctx.ocma,
        ctx.workspace_id,
        post.id,
        variants=variants,
        require_approval=True,
        untrusted=ctx.written_from(),
    )
    await _report_hold(ctx, post, updated)
    view = await asyncio.to_thread(post_view, ctx, updated, validate=True)
    view["adapted"] = [
        {"platform": d.platform, "ok": d.ok, "length": d.length, "limit": d.limit, "problems": d.problems}
        for d in adapted.drafts
    ]
    view["ai"] = adapted.ai
    return view


async def generate_image(
    ctx: ToolContext,
    prompt: str,
    alt_text: str,
    platform: str | None = None,
    aspect_ratio: str | None = None,
    post_id: str | None = None,
) -> dict[str, Any]:
    """Generate an image sized for a platform, store it, and optionally attach it to a post.

    Args:
        prompt: What the image shows.
        alt_text: Description for people using screen readers.
        platform: Size it for this platform (x, linkedin, instagram, ...).
        aspect_ratio: e.g. "16:9" (overrides the platform's).
        post_id: Attach the image to this post.
    """
    import asyncio

    from ocma_core.app.content import generate_image as generate

    made = await generate(
        ctx.ocma, ctx.workspace_id, prompt, platform=platform, aspect_ratio=aspect_ratio, alt_text=alt_text
    )
    media_ids = [m.id for m in made.media]
    result: dict[str, Any] = {
        "media_ids": media_ids,
        "size": made.size,
        "aspect_ratio": made.aspect_ratio,
        "provider": made.provider,
        "cost_usd": made.result.cost_usd,
    }
    if made.problems:
        result["problems"] = made.problems
    if post_id:
        post = await asyncio.to_thread(posts.get_post, ctx.ocma, ctx.workspace_id, post_id)
        updated = await asyncio.to_thread(
            calendar.edit_post_content,
            ctx.ocma,
            ctx.workspace_id,
            post.id,
            media_ids=[*post.media_ids, *media_ids],
            require_approval=True,
        )
        await _report_hold(ctx, post, updated)
        result["post"] = await asyncio.to_thread(post_view, ctx, updated, validate=True)
    return result
