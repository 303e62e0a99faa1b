"""The core tool that deletes a published post from the platforms. It cannot be undone and cannot be held
for later, so the toolset runs it only after a person's yes (`ocma chat` asks inline), unless the workspace
policy lets the caller act directly; in a turn with outside text it is always refused without that yes."""

from __future__ import annotations

import asyncio
from typing import Any

from ocma_agent.context import Caller
from ocma_core.app import Ocma
from ocma_core.app.approvals import require_delete_approval
from ocma_core.app.posts import delete_published, get_post


async def delete_published_post(
    ocma: Ocma, workspace_id: str, caller: Caller, post_id: str, account_ids: list[str] | None = None
) -> dict[str, Any]:
    """Delete a published post from the platforms, every part of a thread. Cannot be undone.

    Args:
        post_id: The published post.
        account_ids: Only from these accounts (default: everywhere it is published).
    """
    # Where the workspace requires approval, deleting is an approver's act on every surface (as over the API).
    await asyncio.to_thread(require_delete_approval, ocma, workspace_id, caller.role)
    results = await delete_published(
        ocma, workspace_id, post_id, account_ids=account_ids, by=f"agent for {caller.label()}"
    )
    post = await asyncio.to_thread(get_post, ocma, workspace_id, post_id)
    return {
        "post_id": post.id,
        "status": str(post.status),
        "targets": [
            {
                "platform": r.platform,
                "account": r.handle,
                "result": r.status,
                **({"reason": r.reason} if r.reason else {}),
                **({"parts_deleted": f"{r.parts_deleted}/{r.parts}"} if r.parts > 1 else {}),
            }
            for r in results
        ],
    }
