"""Posting a thread part by part: continue after the parts that exist, never leave a partial thread behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ocma_core.errors import PlatformError, Rejected
from ocma_core.platforms.types import AccountContext, Capability, FoundPost, PostContent

if TYPE_CHECKING:
    from ocma_core.platforms.base import Platform

#: post_part(index, ids_before) posts part `index` of the content (replying to ids_before[-1] when there is
#: one, with ids_before[0] as the thread's root) and returns its id.
PostPart = Callable[[int, list[str]], Awaitable[str]]


async def post_thread(
    platform: Platform,
    ctx: AccountContext,
    content: PostContent,
    post_part: PostPart,
    found: FoundPost | None = None,
) -> list[str]:
    """Post the parts of `content` after those in `found`; returns every part's id, first part first."""
    parts = content.all_parts()
    ids = list(found.part_ids) if found is not None else []
    if len(ids) > len(parts):
        raise ValueError(f"{len(ids)} parts found for a post of {len(parts)} parts.")
    for index in range(len(ids), len(parts)):
        try:
            ids.append(await post_part(index, list(ids)))
        except PlatformError as exc:
            if not ids:
                raise
            exc.parts_out = list(ids)
            if isinstance(exc, Rejected):
                await _roll_back(platform, ctx, ids, exc, index, len(parts))
            raise
    return ids


async def _roll_back(
    platform: Platform, ctx: AccountContext, ids: list[str], exc: Rejected, index: int, total: int
) -> None:
    """Delete the parts that are out (last first) and say in `exc` what became of them."""
    what = f"Part {index + 1} of {total} was refused, so the thread is not published"
    if Capability.DELETE not in platform.capabilities:
        note = f"; parts 1-{len(ids)} are out ({', '.join(ids)}) and {platform.name} cannot delete them."
        _amend(exc, f"{what}{note}")
        return
    left: list[str] = []
    for part_id in reversed(ids):
        try:
            await platform.delete(ctx, part_id)
        except PlatformError:
            left.append(part_id)
    exc.parts_out = list(reversed(left))
    if left:
        note = (
            f"; deleting the parts already out failed for {', '.join(reversed(left))}: delete them by hand."
        )
    else:
        note = f"; the {len(ids)} part(s) already out were deleted again."
    _amend(exc, f"{what}{note}")


def _amend(exc: PlatformError, note: str) -> None:
    exc.message = f"{exc.message} ({note})"
    exc.args = (exc.message,)
