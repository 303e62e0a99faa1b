"""Database state changes of targets and posts. Each is one short transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.events import Event, record

CLAIMABLE = (TargetStatus.QUEUED, TargetStatus.UNCONFIRMED, TargetStatus.PENDING)
TERMINAL = {TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.CANCELLED, TargetStatus.DELETED}


@dataclass
class Claimed:
    """A target this worker now owns, with what it needs to publish it."""

    target: Target
    post: Post
    account: Account
    needs_lookup: bool  # a previous attempt may have landed: ask the platform first
    claimed_mono: float = 0.0  # time.monotonic() of the claim (or of its last renewal)
    needs_poll: bool = False  # accepted and still processing on the platform: ask, never publish again
    call_started: datetime | None = None  # when this claim's first platform call began (it may have landed)
    unanswered: bool = False  # the last platform call got no reply (a timeout): the budgets learn nothing


def claim(ocma: Ocma, target_id: str, worker: str) -> Claimed | None:
    """Move a due target to publishing in one conditional update; None if another worker has it."""
    now = utcnow()
    with ocma.session() as session:
        # The status it is claimed from decides what to do (publish, or ask about a pending one), so the
        # update only succeeds from the status read here.
        prior = session.execute(select(Target.status).where(col(Target.id) == target_id)).scalar_one_or_none()
        if prior not in CLAIMABLE:
            return None
        result = session.execute(
            update(Target)
            .where(col(Target.id) == target_id, col(Target.status) == prior, col(Target.due_at) <= now)
            .values(
                status=TargetStatus.PUBLISHING,
                claimed_by=worker,
                claimed_at=now,
                attempts=Target.attempts + 1,
                updated_at=now,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        target = session.get(Target, target_id)
        assert target is not None
        post = session.get(Post, target.post_id)
        account = session.get(Account, target.account_id)
        assert post is not None and account is not None
        if post.status is PostStatus.SCHEDULED:
            session.execute(
                update(Post)
                .where(col(Post.id) == post.id, col(Post.status) == PostStatus.SCHEDULED)
                .values(status=PostStatus.PUBLISHING, updated_at=now)
            )
        return Claimed(
            target,
            post,
            account,
            needs_lookup=target.unconfirmed_since is not None,
            claimed_mono=time.monotonic(),
            needs_poll=prior is TargetStatus.PENDING,
        )


def renew(ocma: Ocma, target_id: str, worker: str) -> bool:
    """Re-stamp an owned claim just before a platform call; False if another worker took it over."""
    with ocma.session() as session:
        result = session.execute(
            update(Target).where(*_owned(target_id, worker)).values(claimed_at=utcnow())  # type: ignore[arg-type]
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def add_attempt(ocma: Ocma, attempt: PublishAttempt) -> None:
    """Record one platform call."""
    with ocma.session() as session:
        session.add(attempt)


def _owned(target_id: str, worker: str) -> list[object]:
    return [
        col(Target.id) == target_id,
        col(Target.status) == TargetStatus.PUBLISHING,
        col(Target.claimed_by) == worker,
    ]


def finish(ocma: Ocma, target_id: str, worker: str, status: TargetStatus, **values: object) -> bool:
    """Move an owned target out of publishing; False if this worker no longer owns it."""
    now = utcnow()
    with ocma.session() as session:
        result = session.execute(
            update(Target)
            .where(*_owned(target_id, worker))  # type: ignore[arg-type]
            .values(status=status, claimed_by=None, updated_at=now, **values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        target = session.get(Target, target_id)
        assert target is not None
        events = _refresh_post_status(session, target.post_id)
        if status is TargetStatus.UNCONFIRMED:
            events.append(
                Event(
                    "target.unconfirmed",
                    target.workspace_id,
                    {"post_id": target.post_id, "target_id": target.id, "platform": target.platform},
                )
            )
        for event in events:
            record(session, event)
    from ocma_core.events import dispatch

    for event in events:
        dispatch(event, ocma)
    return True


def refresh_post_status(session: object, post_id: str) -> list[Event]:
    """Derive a post's status from its targets; return the events of a change to a final status (to record)."""
    return _refresh_post_status(session, post_id)


def _refresh_post_status(session: object, post_id: str) -> list[Event]:
    """Derive a post's status from its targets; return the events of a change to a final status."""
    from sqlmodel import Session

    assert isinstance(session, Session)
    post = session.get(Post, post_id)
    assert post is not None
    targets = list(session.exec(select(Target).where(Target.post_id == post_id)))
    statuses = {t.status for t in targets if t.status is not TargetStatus.CANCELLED}
    if not statuses or not statuses <= TERMINAL:
        return []
    # A target deleted earlier (services/deletion.py) is no longer out there: with others published the
    # post is partially published; with only failures besides it, it failed.
    if statuses == {TargetStatus.PUBLISHED}:
        new = PostStatus.PUBLISHED
    elif TargetStatus.PUBLISHED in statuses:
        new = PostStatus.PARTIALLY_PUBLISHED
    elif statuses == {TargetStatus.DELETED}:
        return []
    else:
        new = PostStatus.FAILED
    if post.status is new:
        return []
    post.status, post.updated_at = new, utcnow()
    session.add(post)
    payload = {
        "post_id": post.id,
        "targets": [
            {
                "target_id": t.id,
                "platform": t.platform,
                "status": str(t.status),
                "url": t.url,
                "error": t.last_error,
            }
            for t in targets
        ],
    }
    kind = {
        PostStatus.PUBLISHED: "post.published",
        PostStatus.PARTIALLY_PUBLISHED: "post.partially_published",
        PostStatus.FAILED: "post.failed",
    }[new]
    if new is PostStatus.FAILED:
        payload["reason"] = "; ".join(t.last_error or "" for t in targets if t.last_error)
    events = [Event(kind, post.workspace_id, payload)]
    if post.recurrence:
        from ocma_core.services.recurring import spawn_next

        spawned = spawn_next(session, post)
        if spawned is not None:
            nxt, _ = spawned
            assert nxt.scheduled_at is not None
            events.append(
                Event(
                    "post.scheduled",
                    post.workspace_id,
                    {"post_id": nxt.id, "scheduled_at": nxt.scheduled_at.isoformat(), "recurring": True},
                )
            )
    return events


def requeue(
    ocma: Ocma,
    target_id: str,
    worker: str,
    due_at: datetime,
    *,
    burn_attempt: bool,
    error: str | None,
    unconfirmed_since: datetime | None = None,
    status: TargetStatus = TargetStatus.QUEUED,
    **extra: object,
) -> bool:
    """Give an owned target back to the queue for `due_at` (a rate-limit wait does not count as an attempt)."""
    values: dict[str, object] = {"due_at": due_at, "last_error": error, **extra}
    if not burn_attempt:
        values["attempts"] = Target.attempts - 1
    if unconfirmed_since is not None:
        values["unconfirmed_since"] = unconfirmed_since
    return finish(ocma, target_id, worker, status, **values)


def recover_stale_claims(ocma: Ocma, lease: timedelta) -> int:
    """Targets stuck in publishing (their worker died) become unconfirmed: look before retrying."""
    now = utcnow()
    with ocma.session() as session:
        stale = list(
            session.exec(
                select(Target).where(
                    Target.status == TargetStatus.PUBLISHING, col(Target.claimed_at) < now - lease
                )
            )
        )
        for target in stale:
            target.claimed_by, target.due_at, target.updated_at = None, now, now
            if target.external_id is not None:  # it was asking about a pending post: ask again
                target.status = TargetStatus.PENDING
                session.add(target)
                continue
            target.status = TargetStatus.UNCONFIRMED
            target.unconfirmed_since = target.unconfirmed_since or target.claimed_at
            target.last_error = "The worker stopped during the call; checking the platform before any retry."
            session.add(target)
        return len(stale)


def due_targets(ocma: Ocma, horizon: timedelta, limit: int = 5000) -> list[tuple[str, datetime]]:
    """Claimable targets due within `horizon` (the reconciler puts them on the queue)."""
    with ocma.session() as session:
        rows = session.exec(
            select(Target.id, Target.due_at)
            .where(col(Target.status).in_(CLAIMABLE), col(Target.due_at) <= utcnow() + horizon)
            .order_by(col(Target.due_at))
            .limit(limit)
        )
        return [(i, d) for i, d in rows if d is not None]
