"""Recurring posts: when an occurrence is done, the next one is created and queued."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from ocma_core.db.models import Post, PostStatus, Target, TargetStatus
from ocma_core.recurrence import Rule, next_occurrence


def spawn_next(session: Session, post: Post) -> tuple[Post, list[Target]] | None:
    """Create the series' next occurrence (same content and accounts), or None when the series is over."""
    if not post.recurrence or post.scheduled_at is None:
        return None
    rule = Rule.parse(post.recurrence)
    anchor = datetime.fromisoformat(post.recurrence.get("anchor") or post.scheduled_at.isoformat())
    index = int(post.recurrence.get("index", 1))
    if rule.count is not None and index >= rule.count:
        return None
    when = next_occurrence(rule, anchor, post.scheduled_at, post.timezone)
    if when is None:
        return None
    recurrence = {**post.recurrence, "anchor": anchor.isoformat(), "index": index + 1}
    nxt = Post(
        workspace_id=post.workspace_id,
        body=post.body,
        media_ids=list(post.media_ids),
        variants=dict(post.variants),
        thread=list(post.thread),
        options=dict(post.options),
        status=PostStatus.SCHEDULED,
        scheduled_at=when,
        timezone=post.timezone,
        recurrence=recurrence,
        parent_id=post.parent_id or post.id,
        created_by=post.created_by,
        approved_hash=post.approved_hash,  # the same content to the same accounts
    )
    session.add(nxt)
    session.flush()
    targets = []
    for old in session.exec(select(Target).where(Target.post_id == post.id)):
        target = Target(
            post_id=nxt.id,
            workspace_id=post.workspace_id,
            account_id=old.account_id,
            platform=old.platform,
            status=TargetStatus.QUEUED,
            due_at=when,
        )
        session.add(target)
        targets.append(target)
    return nxt, targets
