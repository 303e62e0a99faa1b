"""A person's decision on a post the agent held, taken outside the chat (API call, Slack button), recorded in
the thread so the agent knows about it in the next turn."""

from __future__ import annotations

from ocma_agent import store
from ocma_core.app import Ocma, posts
from ocma_core.app.models import Post


def decide(ocma: Ocma, workspace_id: str, thread_key: str, post_id: str, *, approve: bool, by: str) -> Post:
    """Approve the held post (it is scheduled as planned) or decline it (it is cancelled); note it in the thread."""
    post = (posts.approve_post if approve else posts.cancel_post)(ocma, workspace_id, post_id)
    verb = "approved" if approve else "declined (cancelled)"
    when = post.scheduled_at.isoformat() if post.scheduled_at else "now"
    note = f"Post {post.id} was {verb} by {by}; it is now {post.status} (for {when})."
    thread = store.open_thread(ocma, workspace_id, thread_key)
    store.append(ocma, thread, [("note", {"text": note, "post_id": post.id, "approved": approve, "by": by})])
    return post
