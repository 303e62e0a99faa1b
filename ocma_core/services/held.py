"""Posts held while an account needed reconnecting, and what a person decides about them.

Only what came due while the account was broken is held; posts still in the future stay queued (if one comes
due before the reconnect, the engine holds it then). Reconnecting sends every held post whose time is still
ahead back to the queue at that time; what fell due meanwhile waits for a person's choice — publish now,
reschedule or cancel — made here, from the API, the CLI or the Slack card alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, Post, PostStatus, Target, TargetStatus, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import ConflictError, ValidationFailed
from ocma_core.events import Event, dispatch, record

Choice = Literal["publish_now", "reschedule", "cancel"]
CHOICES: tuple[str, ...] = ("publish_now", "reschedule", "cancel")
LEFT = {TargetStatus.PUBLISHED, TargetStatus.PENDING, TargetStatus.DELETED}


def hold_due_targets(ocma: Ocma, account_id: str, reason: str) -> int:
    """Hold the queued targets of an account that needs reconnecting which are already due (not later ones)."""
    with ocma.session() as session:
        result = session.execute(
            update(Target)
            .where(
                col(Target.account_id) == account_id,
                col(Target.status) == TargetStatus.QUEUED,
                col(Target.due_at) <= utcnow(),
            )
            .values(status=TargetStatus.HELD, last_error=reason, updated_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def release_after_reconnect(session: Session, account: Account) -> Event | None:
    """In the reconnect's transaction: held targets still in the future go back to the queue at their time;
    the event (recorded here, dispatch it after commit) lists what fell due meanwhile and waits for a person."""
    now = utcnow()
    rows = list(
        session.exec(
            select(Target, Post).where(
                Target.post_id == Post.id,
                Target.account_id == account.id,
                Target.status == TargetStatus.HELD,
            )
        )
    )
    requeued: list[dict[str, str]] = []
    waiting: list[dict[str, Any]] = []
    for target, post in rows:
        when = _scheduled_time(target, post)
        if when > now:
            target.status, target.due_at, target.attempts = TargetStatus.QUEUED, when, 0
            target.last_error, target.updated_at = None, now
            session.add(target)
            requeued.append({"target_id": target.id, "due_at": when.isoformat()})
        else:
            waiting.append(_waiting_view(target, post, when))
    if not rows:
        return None
    event = Event(
        "account.reconnected",
        account.workspace_id,
        {
            "account_id": account.id,
            "platform": account.platform,
            "handle": account.handle,
            "requeued": requeued,
            "held": waiting,
        },
    )
    record(session, event)
    return event


def after_reconnect(ocma: Ocma, event: Event | None) -> None:
    """After the reconnect committed: wake the queue for what went back to it and tell everyone."""
    if event is None:
        return
    due = [(r["target_id"], datetime.fromisoformat(r["due_at"])) for r in event.payload["requeued"]]
    try:
        ocma.queue.push_many(due)
    except Exception:  # the reconciler enqueues them from the database
        pass
    dispatch(event, ocma)


def held_posts(ocma: Ocma, workspace_id: str) -> list[dict[str, Any]]:
    """Posts with held targets, oldest scheduled first, each with why and what can be done."""
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(Target, Post, Account)
                .where(
                    Target.post_id == Post.id,
                    Target.account_id == Account.id,
                    Target.workspace_id == workspace_id,
                    Target.status == TargetStatus.HELD,
                )
                .order_by(col(Target.due_at))
            )
        )
    views: dict[str, dict[str, Any]] = {}
    for target, post, account in rows:
        view = views.setdefault(
            post.id,
            {
                "post_id": post.id,
                "body": post.body[:200],
                "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
                "targets": [],
                "choices": list(CHOICES),
            },
        )
        item = _waiting_view(target, post, _scheduled_time(target, post))
        item.update(account_id=account.id, handle=account.handle, account_status=str(account.status))
        view["targets"].append(item)
    return list(views.values())


def decide_held(
    ocma: Ocma, workspace_id: str, post_id: str, choice: str, when: datetime | None = None
) -> Post:
    """Publish the post's held targets now, reschedule them to `when`, or cancel them."""
    if choice not in CHOICES:
        raise ValidationFailed(f"Unknown choice {choice!r}.", fix=f"Choose one of: {', '.join(CHOICES)}.")
    from ocma_core.services.posts import get_post

    now = utcnow()
    events: list[Event] = []
    due: datetime | None = None
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
        held = [t for t in targets if t.status is TargetStatus.HELD]
        if not held:
            raise ConflictError(
                "Nothing of this post is held.",
                fix="List the held posts first.",
                fixes={"cli": "Run `ocma posts held`.", "api": "GET /v1/posts/held lists them."},
            )
        if choice == "cancel":
            events = _cancel(session, post, held, now)
        else:
            due = now if choice == "publish_now" else _future(when)
            if choice == "publish_now":
                _require_connected(session, held)
            _requeue(session, post, targets, held, due, reschedule=choice == "reschedule")
    for event in events:
        dispatch(event, ocma)
    if due is not None:
        try:
            ocma.queue.push_many([(t.id, due) for t in held])
        except Exception:  # the reconciler enqueues them from the database
            pass
    return post


def _requeue(
    session: Session,
    post: Post,
    targets: list[Target],
    held: list[Target],
    due: datetime,
    *,
    reschedule: bool,
) -> None:
    from ocma_core.services import approval

    now = utcnow()
    workspace = session.get(Workspace, post.workspace_id)
    assert workspace is not None
    # Approval binds to the content reviewed: a post changed since its approval waits for one again.
    unapproved = approval.needs_approval(workspace, post) and not approval.is_approved(session, post)
    for target in held:
        target.status = TargetStatus.DRAFT if unapproved else TargetStatus.QUEUED
        target.due_at, target.attempts, target.last_error, target.updated_at = due, 0, None, now
        session.add(target)
    if unapproved:
        post.status, post.scheduled_at = PostStatus.PENDING_APPROVAL, due
    elif not any(t.status in LEFT for t in targets):  # nothing of it is out yet: the whole post moves
        post.status = PostStatus.SCHEDULED
        if reschedule:
            post.scheduled_at = due
    post.updated_at = now
    session.add(post)


def _cancel(session: Session, post: Post, held: list[Target], now: datetime) -> list[Event]:
    """Cancel the held targets; the post's status follows from what is left (recorded events returned)."""
    from ocma_core.engine.transitions import refresh_post_status

    for target in held:
        target.status, target.updated_at = TargetStatus.CANCELLED, now
        session.add(target)
    session.flush()
    events = refresh_post_status(session, post.id)
    remaining = session.exec(
        select(Target.id).where(Target.post_id == post.id, Target.status != TargetStatus.CANCELLED)
    ).first()
    if remaining is None:
        post.status, post.updated_at = PostStatus.CANCELLED, now
        session.add(post)
    for event in events:
        record(session, event)
    return events


def _future(when: datetime | None) -> datetime:
    if when is None:
        raise ValidationFailed("Rescheduling needs a time.", fix="Give the time to reschedule it to.")
    if when.tzinfo is None:
        raise ValidationFailed(
            "The time needs a timezone.", fix="Add an offset, e.g. 2025-01-31T09:00:00+01:00."
        )
    if when < utcnow() - timedelta(minutes=5):
        raise ValidationFailed(
            f"{when.isoformat()} is in the past.", fix="Pick a future time, or publish now."
        )
    return when


def _require_connected(session: Session, held: list[Target]) -> None:
    for target in held:
        account = session.get(Account, target.account_id)
        if account is None or account.status is not AccountStatus.CONNECTED:
            handle = account.handle if account else target.account_id
            raise ConflictError(
                f"The {target.platform} account {handle} still needs reconnecting.",
                fix="Reconnect it first; then publish now, or reschedule the post.",
            )


def _scheduled_time(target: Target, post: Post) -> datetime:
    """When the target was meant to go out: the post's time, or a later one its target was moved to."""
    times = [t for t in (post.scheduled_at, target.due_at) if t is not None]
    return max(times) if times else utcnow()


def _waiting_view(target: Target, post: Post, when: datetime) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "target_id": target.id,
        "platform": target.platform,
        "due_at": when.isoformat(),
        "reason": target.last_error,
        "text": post.body[:200],
    }
