"""The calendar: posts by date (planned drafts included), and schedule changes of existing posts.

Holding for approval here touches only targets that have not gone out, so a partly published post keeps
its published targets as they are. `approve_post` (services.posts) moves a held post on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostStatus, Target, TargetStatus, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import ConflictError, NotFoundError, ValidationFailed
from ocma_core.events import Event
from ocma_core.services import posts as post_service
from ocma_core.services import scheduling, taint
from ocma_core.services.post_input import PostInput

SCHEDULABLE = {PostStatus.DRAFT, PostStatus.PENDING_APPROVAL, PostStatus.SCHEDULED}


def calendar_entries(
    ocma: Ocma,
    workspace_id: str,
    start: datetime,
    end: datetime,
    *,
    status: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Posts whose (planned or scheduled) time falls in [start, end), soonest first, with their targets."""
    with ocma.session() as session:
        query = select(Post).where(
            Post.workspace_id == workspace_id,
            col(Post.scheduled_at) >= start,
            col(Post.scheduled_at) < end,
        )
        if status:
            query = query.where(Post.status == status)
        found = list(session.exec(query.order_by(col(Post.scheduled_at)).limit(limit)))
        ids = [p.id for p in found]
        targets = list(session.exec(select(Target).where(col(Target.post_id).in_(ids)))) if ids else []
        account_ids = {t.account_id for t in targets}
        handles = {
            a.id: a.handle
            for a in (
                session.exec(select(Account).where(col(Account.id).in_(account_ids))) if account_ids else []
            )
        }
    by_post: dict[str, list[Target]] = {}
    for target in targets:
        by_post.setdefault(target.post_id, []).append(target)
    return [
        {
            "post_id": post.id,
            "status": str(post.status),
            "at": post.scheduled_at.isoformat() if post.scheduled_at else None,
            "text": post.body,
            **({"untrusted_from": list(post.untrusted_sources)} if post.untrusted_sources else {}),
            "targets": [
                {
                    "platform": t.platform,
                    "account": handles.get(t.account_id, t.account_id),
                    "status": str(t.status),
                    "url": t.url,
                    "error": t.last_error,
                }
                for t in by_post.get(post.id, [])
            ],
        }
        for post in found
    ]


def plan_draft(
    ocma: Ocma,
    workspace_id: str,
    data: PostInput,
    planned_at: datetime | None,
    *,
    created_by: str = "",
    untrusted: list[str] | None = None,
) -> Post:
    """Save a draft, optionally with a planned time so it shows on the calendar (nothing is queued);
    `untrusted` names the outside text it was made from."""
    if data.action != "draft":
        raise ValidationFailed("plan_draft saves drafts only.", fix="Use action 'draft'.")
    if planned_at is not None and planned_at.tzinfo is None:
        raise ValidationFailed("The planned time needs a timezone.")
    with ocma.session() as session:  # the draft and its planned time together, or nothing
        post, _ = post_service.create_post_in(
            ocma, session, workspace_id, data, created_by=created_by, untrusted=untrusted
        )
        if planned_at is not None:
            post.scheduled_at = planned_at
            post.updated_at = utcnow()
            session.add(post)
            session.flush()
            session.refresh(post)
        return post


def _hold(session: Session, post: Post, when: datetime) -> Event:
    """Mark the post as waiting for approval at `when`; only targets that have not gone out change."""
    post.status, post.scheduled_at, post.updated_at = PostStatus.PENDING_APPROVAL, when, utcnow()
    for target in session.exec(select(Target).where(Target.post_id == post.id)):
        if target.status in scheduling.OPEN_TARGETS:
            target.status, target.due_at, target.updated_at = TargetStatus.DRAFT, when, utcnow()
            session.add(target)
    session.add(post)
    return scheduling.approval_requested(session, post)


def _accounts_of(session: Session, workspace_id: str, post: Post) -> list[Account]:
    ids = [t.account_id for t in session.exec(select(Target).where(Target.post_id == post.id))]
    if not ids:
        raise ValidationFailed(
            "The post has no accounts to publish to.", fix="Add accounts to it (edit the post) first."
        )
    accounts = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(ids)))}
    missing = [i for i in ids if i not in accounts or accounts[i].workspace_id != workspace_id]
    if missing:
        raise NotFoundError(f"Unknown account(s): {', '.join(missing)}.")
    return [accounts[i] for i in ids]


def schedule_existing(
    ocma: Ocma,
    workspace_id: str,
    post_id: str,
    when: datetime | None,
    *,
    next_slot: bool = False,
    require_approval: bool = False,
) -> Post:
    """Schedule (or reschedule) a draft, held or scheduled post for `when` or the next free queue slot.

    With `require_approval` (or the workspace's approval_required) it waits as pending_approval instead.
    """
    if when is None and not next_slot:
        raise ValidationFailed("Say when: a time, or the next free slot.")
    if when is not None and when.tzinfo is None:
        raise ValidationFailed("The time needs a timezone.")
    if when is not None and when < utcnow() - timedelta(minutes=5):
        raise ValidationFailed(
            f"{when.isoformat()} is in the past.", fix="Pick a future time, or publish now."
        )
    with ocma.session() as session:
        post = post_service.get_post(ocma, workspace_id, post_id, session)
        if post.status not in SCHEDULABLE:
            raise ConflictError(
                f"A {post.status} post cannot be scheduled.",
                fix="Retry a failed post, or create a new post.",
            )
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        accounts = _accounts_of(session, workspace_id, post)
        scheduling.raise_if_invalid(post_service.check_targets(ocma, workspace_id, post, accounts))
        if when is None:
            when = scheduling.next_free_slot(session, workspace, accounts)
        event = None
        if require_approval or workspace.settings.get("approval_required"):
            event = _hold(session, post, when)
        else:
            if post.status is PostStatus.PENDING_APPROVAL:
                post.status = PostStatus.DRAFT
            event = scheduling.queue_or_hold(session, workspace, post, when, approved=True)
        session.flush()
        session.refresh(post)
    scheduling.after_schedule(ocma, post, event)
    return post


def publish_existing(ocma: Ocma, workspace_id: str, post_id: str, *, require_approval: bool = False) -> Post:
    """Publish a draft or scheduled post now, or hold it (due now) for approval."""
    if not require_approval:
        return post_service.publish_now(ocma, workspace_id, post_id)
    with ocma.session() as session:
        post = post_service.get_post(ocma, workspace_id, post_id, session)
        if post.status not in (PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.FAILED):
            raise ConflictError(f"A {post.status} post cannot be published now.")
        accounts = _accounts_of(session, workspace_id, post)
        scheduling.raise_if_invalid(post_service.check_targets(ocma, workspace_id, post, accounts))
        event = _hold(session, post, utcnow())
        session.flush()
        session.refresh(post)
    scheduling.after_schedule(ocma, post, event)
    return post


def retry_existing(ocma: Ocma, workspace_id: str, post_id: str, *, require_approval: bool = False) -> Post:
    """Retry a post's failed or held targets now (never before their time), or hold them for approval."""
    if not require_approval:
        return post_service.retry_post(ocma, workspace_id, post_id)
    with ocma.session() as session:
        post = post_service.get_post(ocma, workspace_id, post_id, session)
        targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
        if not any(t.status in (TargetStatus.FAILED, TargetStatus.HELD) for t in targets):
            raise ConflictError("Nothing to retry: no target of this post failed.")
        now = utcnow()
        due = max(now, post.scheduled_at) if post.scheduled_at else now  # never earlier than its time
        for target in targets:
            if target.status in (TargetStatus.FAILED, TargetStatus.HELD):
                target.status, target.due_at, target.attempts, target.updated_at = (
                    TargetStatus.DRAFT,
                    due,
                    0,
                    now,
                )
                scheduling.forget_platform_copy(target)
                session.add(target)
        post.status, post.scheduled_at, post.updated_at = PostStatus.PENDING_APPROVAL, due, now
        session.add(post)
        session.flush()
        session.refresh(post)
        return post


def edit_post_content(
    ocma: Ocma,
    workspace_id: str,
    post_id: str,
    *,
    body: str | None = None,
    variants: dict[str, str] | None = None,
    thread: list[str] | None = None,
    media_ids: list[str] | None = None,
    account_ids: list[str] | None = None,
    require_approval: bool = False,
    untrusted: list[str] | None = None,
) -> Post:
    """Change what a post says or where it goes, keeping its status and time (None leaves a field as it is).

    A scheduled post is validated again; with `require_approval` it goes back to waiting for approval.
    `untrusted` None is a person's edit (the post's outside-text mark is cleared); a list is the agent's edit
    in a turn that read that outside text (added to the mark; an empty list keeps it).
    """
    event = None
    with ocma.session() as session:
        post = post_service.get_post(ocma, workspace_id, post_id, session)
        if post.status not in scheduling.EDITABLE:
            raise ConflictError(f"A {post.status} post cannot be edited.", fix="Create a new post instead.")
        if body is not None:
            post.body = body
        if variants is not None:
            post.variants = {k: v for k, v in variants.items() if v}
        if thread is not None:
            post.thread = list(thread)
        if media_ids is not None:
            post.media_ids = list(media_ids)
        if account_ids is not None:
            _set_accounts(session, workspace_id, post, account_ids)
        taint.apply_change(post, untrusted)
        post.updated_at = utcnow()
        session.add(post)
        session.flush()
        if post.status in (PostStatus.SCHEDULED, PostStatus.PENDING_APPROVAL):
            accounts = _accounts_of(session, workspace_id, post)
            scheduling.raise_if_invalid(post_service.check_targets(ocma, workspace_id, post, accounts))
        if post.status is PostStatus.SCHEDULED and post.scheduled_at is not None:
            workspace = session.get(Workspace, workspace_id)
            assert workspace is not None
            if require_approval or workspace.settings.get("approval_required"):
                event = _hold(session, post, post.scheduled_at)
            else:
                event = scheduling.queue_or_hold(session, workspace, post, post.scheduled_at, approved=True)
        session.flush()
        session.refresh(post)
    scheduling.after_schedule(ocma, post, event)
    return post


def _set_accounts(session: Session, workspace_id: str, post: Post, account_ids: list[str]) -> None:
    if len(set(account_ids)) != len(account_ids):
        raise ValidationFailed("account_ids lists an account twice.")
    wanted = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(account_ids)))}
    missing = [i for i in account_ids if i not in wanted or wanted[i].workspace_id != workspace_id]
    if missing:
        raise NotFoundError(f"Unknown account(s): {', '.join(missing)}.", fix="List the accounts first.")
    existing = {t.account_id: t for t in session.exec(select(Target).where(Target.post_id == post.id))}
    for account_id, target in existing.items():
        if account_id in wanted:
            continue
        if target.status not in scheduling.OPEN_TARGETS | {TargetStatus.CANCELLED}:
            raise ConflictError(f"The post is already {target.status} on {target.platform}; it stays there.")
        session.delete(target)
    for account_id in account_ids:
        if account_id not in existing:
            account = wanted[account_id]
            session.add(
                Target(
                    post_id=post.id,
                    workspace_id=workspace_id,
                    account_id=account.id,
                    platform=account.platform,
                    due_at=post.scheduled_at if post.status is PostStatus.PENDING_APPROVAL else None,
                )
            )
