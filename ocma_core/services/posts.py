"""Posts and their targets: create, validate per platform, schedule, approve, cancel, retry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, Post, PostStatus, Target, TargetStatus, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import ConflictError, NotFoundError, ValidationFailed
from ocma_core.events import Event, dispatch, record
from ocma_core.platforms import PostContent
from ocma_core.recurrence import Rule
from ocma_core.registry import get_platform
from ocma_core.services import approval, taint
from ocma_core.services.accounts import FIND_ACCOUNTS, FIND_ACCOUNTS_ON
from ocma_core.services.media import media_items
from ocma_core.services.post_input import PostInput
from ocma_core.services.post_listing import list_posts as list_posts  # re-exported: callers use posts.*
from ocma_core.services.scheduling import (
    EDITABLE,
    OPEN_TARGETS,
    TargetCheck,
    after_schedule,
    forget_platform_copy,
    next_free_slot,
    queue_or_hold,
    raise_if_invalid,
)


def text_for(post: Post | PostInput, account: Account) -> str:
    """The text of a post for one account: its account variant, else its platform variant, else the body."""
    return post.variants.get(account.id) or post.variants.get(account.platform) or post.body


def content_for(
    ocma: Ocma, post: Post | PostInput, account: Account, idempotency_key: str = ""
) -> PostContent:
    """What the platform gets for this account."""
    items = media_items(ocma, account.workspace_id, list(post.media_ids)) if post.media_ids else []
    return PostContent(
        text=text_for(post, account),
        media=items,
        thread=[PostContent(text=part) for part in post.thread],
        options=dict(post.options.get(account.platform, {})),
        idempotency_key=idempotency_key,
    )


def check_targets(
    ocma: Ocma, workspace_id: str, data: PostInput | Post, accounts: list[Account]
) -> list[TargetCheck]:
    """Validate the post for every selected account with its platform's own rules."""
    checks = []
    for account in accounts:
        platform = get_platform(account.platform)
        content = content_for(ocma, data, account)
        limit = platform.limits.text
        problems = [p.as_dict() for p in platform.validate_for_account(content, account.settings)]
        if account.status is not AccountStatus.CONNECTED:
            problems.append(
                {
                    "code": "account_" + str(account.status),
                    "field": "account",
                    "message": f"{account.handle} is {account.status}; reconnect it first.",
                }
            )
        checks.append(
            TargetCheck(
                account.id,
                account.platform,
                account.handle,
                limit.count(content.text),
                limit.max_length,
                limit.unit,
                problems,
            )
        )
    return checks


def _accounts(session: Session, workspace_id: str, account_ids: list[str]) -> list[Account]:
    found = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(account_ids)))}
    missing = [i for i in account_ids if i not in found or found[i].workspace_id != workspace_id]
    if missing:
        raise NotFoundError(
            f"Unknown account(s): {', '.join(missing)}.", fix=FIND_ACCOUNTS, fixes=FIND_ACCOUNTS_ON
        )
    return [found[i] for i in account_ids]


def create_post(
    ocma: Ocma,
    workspace_id: str,
    data: PostInput,
    *,
    created_by: str = "",
    require_approval: bool = False,
    untrusted: list[str] | None = None,
) -> Post:
    """Create a post (draft, scheduled, pending approval or due now) with one target per account.

    `require_approval` holds it for a person's approval even when the workspace does not require it
    (the agent's approval policy uses this); `untrusted` names the outside text it was made from.
    """
    with ocma.session() as session:
        post, event = create_post_in(
            ocma,
            session,
            workspace_id,
            data,
            created_by=created_by,
            require_approval=require_approval,
            untrusted=untrusted,
        )
    after_schedule(ocma, post, event)
    return post


def create_post_in(
    ocma: Ocma,
    session: Session,
    workspace_id: str,
    data: PostInput,
    *,
    created_by: str = "",
    require_approval: bool = False,
    untrusted: list[str] | None = None,
) -> tuple[Post, Event | None]:
    """Create a post inside the caller's transaction (nothing is enqueued: call `after_schedule` after the
    commit with what this returns), so a multi-row operation commits all of its posts or none. `untrusted`
    names the outside text it was made from."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError("No such workspace.")
    accounts = _accounts(session, workspace_id, data.account_ids)
    post = Post(
        workspace_id=workspace_id, created_by=created_by, timezone=data.timezone or workspace.timezone
    )
    _apply(post, data)
    post.untrusted_sources = taint.combine([], untrusted or [])
    session.add(post)
    session.flush()
    for account in accounts:
        session.add(
            Target(
                post_id=post.id, workspace_id=workspace_id, account_id=account.id, platform=account.platform
            )
        )
    session.flush()
    if data.action == "draft":
        post.scheduled_at = data.scheduled_utc(
            workspace.timezone
        )  # a planned time: on the calendar, not queued
        return post, None
    raise_if_invalid(check_targets(ocma, workspace_id, data, accounts))
    when = _when(ocma, session, workspace, data, accounts)
    return post, queue_or_hold(session, workspace, post, when, hold=require_approval)


def _apply(post: Post, data: PostInput) -> None:
    post.body = data.body
    post.media_ids = list(data.media_ids)
    post.variants = dict(data.variants)
    post.thread = list(data.thread)
    post.options = {k: dict(v) for k, v in data.options.items()}
    post.timezone = data.timezone or post.timezone
    post.recurrence = Rule.parse(data.recurrence).as_dict() if data.recurrence else None
    if post.recurrence is not None:
        post.recurrence["index"] = 1
    post.updated_at = utcnow()


def _when(
    ocma: Ocma, session: Session, workspace: Workspace, data: PostInput, accounts: list[Account]
) -> datetime:
    if data.action == "publish_now":
        return utcnow()
    if data.action == "next_slot":
        return next_free_slot(session, workspace, accounts)
    if data.action == "best_time":
        from ocma_core.analytics.answers import next_best_time

        answer = next_best_time(ocma, workspace.id, [a.id for a in accounts])
        if answer["at"] is None:  # no measured best time: the queue's slots, never an unmeasured guess
            try:
                return next_free_slot(session, workspace, accounts)
            except ValidationFailed as exc:
                raise ValidationFailed(
                    f"There is no measured best time for these accounts ({answer['reason']}), and no queue "
                    f"slot to use instead: {exc}",
                    fix="Give a time, or set queue slots (workspace setting queue_slots).",
                ) from None
        return datetime.fromisoformat(answer["at"])
    when = data.scheduled_utc(workspace.timezone)
    assert when is not None
    if when < utcnow() - timedelta(minutes=5):
        raise ValidationFailed(
            f"The time {when.isoformat()} is in the past.",
            [{"field": "scheduled_at", "message": "in the past"}],
            fix="Pick a future time, or publish it now.",
            fixes={
                "cli": "Pick a future --at (e.g. 'tomorrow 09:00' or --in 2h), or publish now with --now.",
                "api": 'Send a future scheduled_at, or "action": "publish_now".',
            },
        )
    return when


def get_post(ocma: Ocma, workspace_id: str, post_id: str, session: Session | None = None) -> Post:
    """A post of this workspace (404 for another workspace's)."""

    def find(s: Session) -> Post:
        post = s.get(Post, post_id)
        if post is None or post.workspace_id != workspace_id:
            raise NotFoundError(
                f"No post {post_id!r}.",
                fix="List the workspace's posts to find the id.",
                fixes={"cli": "List them with `ocma posts list`.", "api": "List them with GET /v1/posts."},
            )
        return post

    if session is not None:
        return find(session)
    with ocma.session() as s:
        return find(s)


def targets_of(ocma: Ocma, post_id: str) -> list[Target]:
    """A post's targets."""
    with ocma.session() as session:
        return list(session.exec(select(Target).where(Target.post_id == post_id)))


def targets_by_post(ocma: Ocma, post_ids: list[str]) -> dict[str, list[Target]]:
    """The targets of many posts in one query (a listing page), by post id; a post without any maps to []."""
    found: dict[str, list[Target]] = {post_id: [] for post_id in post_ids}
    if not post_ids:
        return found
    with ocma.session() as session:
        for target in session.exec(select(Target).where(col(Target.post_id).in_(post_ids))):
            found[target.post_id].append(target)
    return found


def update_post(ocma: Ocma, workspace_id: str, post_id: str, data: PostInput) -> Post:
    """Replace a post's content and schedule while nothing of it has been published (a person's edit:
    it clears the post's outside-text mark)."""
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        if post.status not in EDITABLE:
            raise ConflictError(
                f"A {post.status} post cannot be edited.", fix="Cancel it or create a new post."
            )
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        accounts = _accounts(session, workspace_id, data.account_ids)
        existing = {t.account_id: t for t in session.exec(select(Target).where(Target.post_id == post.id))}
        for account_id, target in existing.items():
            if account_id not in data.account_ids:
                session.delete(target)
        for account in accounts:
            if account.id not in existing:
                session.add(
                    Target(
                        post_id=post.id,
                        workspace_id=workspace_id,
                        account_id=account.id,
                        platform=account.platform,
                    )
                )
        _apply(post, data)
        taint.apply_change(post, None)
        session.add(post)
        session.flush()
        event = None
        if data.action == "draft":
            post.status, post.scheduled_at = PostStatus.DRAFT, data.scheduled_utc(workspace.timezone)
            for target in session.exec(select(Target).where(Target.post_id == post.id)):
                target.status, target.due_at = TargetStatus.DRAFT, None
                session.add(target)
        else:
            raise_if_invalid(check_targets(ocma, workspace_id, data, accounts))
            if post.status is PostStatus.PENDING_APPROVAL:
                post.status = PostStatus.DRAFT
            event = queue_or_hold(session, workspace, post, _when(ocma, session, workspace, data, accounts))
    after_schedule(ocma, post, event)
    return post


def approve_post(ocma: Ocma, workspace_id: str, post_id: str) -> Post:
    """Approve a post waiting for approval: it is scheduled for its time (or now if that has passed)."""
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        if post.status is not PostStatus.PENDING_APPROVAL:
            raise ConflictError(f"The post is {post.status}, not waiting for approval.")
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        accounts = _accounts(session, workspace_id, [t.account_id for t in targets_of(ocma, post.id)])
        raise_if_invalid(check_targets(ocma, workspace_id, post, accounts))
        when = max(post.scheduled_at or utcnow(), utcnow())
        approval.approve(session, post)
        event = queue_or_hold(session, workspace, post, when, approved=True)
        approved = Event("post.approved", workspace_id, {"post_id": post.id, "post_status": str(post.status)})
        record(session, approved)
    after_schedule(ocma, post, event)
    dispatch(approved, ocma)
    return post


def cancel_post(ocma: Ocma, workspace_id: str, post_id: str) -> Post:
    """Cancel everything of a post that has not gone out; published targets stay published."""
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        if post.status in (PostStatus.PUBLISHED, PostStatus.CANCELLED, PostStatus.DELETED):
            raise ConflictError(f"The post is already {post.status}.")
        targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
        if any(t.status in (TargetStatus.PUBLISHING, TargetStatus.UNCONFIRMED) for t in targets):
            raise ConflictError("A target is being published right now.", fix="Try again in a few seconds.")
        for target in targets:
            if target.status in OPEN_TARGETS:
                target.status, target.updated_at = TargetStatus.CANCELLED, utcnow()
                session.add(target)
        published = any(t.status is TargetStatus.PUBLISHED for t in targets)
        deleted = any(t.status is TargetStatus.DELETED for t in targets)
        post.status = (
            PostStatus.PARTIALLY_PUBLISHED
            if published
            else PostStatus.DELETED
            if deleted
            else PostStatus.CANCELLED
        )
        post.updated_at = utcnow()
        session.add(post)
        return post


def publish_now(ocma: Ocma, workspace_id: str, post_id: str) -> Post:
    """Publish a draft or scheduled post immediately (a draft still needs approval where that is required)."""
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        if post.status not in (PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.FAILED):
            raise ConflictError(f"A {post.status} post cannot be published now.")
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        accounts = _accounts(session, workspace_id, [t.account_id for t in targets_of(ocma, post.id)])
        if not accounts:
            raise ValidationFailed("The post has no accounts to publish to.")
        raise_if_invalid(check_targets(ocma, workspace_id, post, accounts))
        # A scheduled post was already approved (or needed no approval): moving it to now keeps that.
        already_approved = post.status is PostStatus.SCHEDULED
        event = queue_or_hold(session, workspace, post, utcnow(), approved=already_approved)
    after_schedule(ocma, post, event)
    return post


def retry_post(ocma: Ocma, workspace_id: str, post_id: str) -> Post:
    """Queue the failed (or held) targets of a post again: now, or at its scheduled time if that is later."""
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        targets = [
            t
            for t in session.exec(select(Target).where(Target.post_id == post.id))
            if t.status in (TargetStatus.FAILED, TargetStatus.HELD)
        ]
        if not targets:
            raise ConflictError("Nothing to retry: no target of this post failed.")
        now = utcnow()
        # Never earlier than its time: a retried post meant for tomorrow still goes out tomorrow.
        due = max(now, post.scheduled_at) if post.scheduled_at else now
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        if approval.needs_approval(workspace, post) and not approval.is_approved(session, post):
            # Edited since it was approved (or never approved): the new content needs approval first.
            for target in targets:
                target.status, target.due_at, target.attempts, target.updated_at = (
                    TargetStatus.DRAFT,
                    due,
                    0,
                    now,
                )
                forget_platform_copy(target)
                session.add(target)
            post.status, post.scheduled_at, post.updated_at = PostStatus.PENDING_APPROVAL, due, now
            session.add(post)
            return post
        for target in targets:
            target.status, target.due_at, target.attempts, target.last_error = (
                TargetStatus.QUEUED,
                due,
                0,
                None,
            )
            forget_platform_copy(target)
            target.updated_at = now
            session.add(target)
        post.status = PostStatus.PUBLISHING if due <= now else PostStatus.SCHEDULED
        post.updated_at = now
        session.add(post)
    ocma.queue.push_many([(t.id, due) for t in targets])
    return post


def failed_targets(
    ocma: Ocma, workspace_id: str, *, limit: int = 100, offset: int = 0
) -> list[tuple[Target, Post]]:
    """Failed and held targets with their posts, newest first, one page (`limit` from `offset`)."""
    with ocma.session() as session:
        rows = session.exec(
            select(Target, Post)
            .where(
                Target.post_id == Post.id,
                Target.workspace_id == workspace_id,
                col(Target.status).in_([TargetStatus.FAILED, TargetStatus.HELD]),
            )
            .order_by(col(Target.updated_at).desc(), col(Target.id))
            .offset(offset)
            .limit(limit)
        )
        return [(t, p) for t, p in rows]


def post_summary(post: Post, targets: list[Target]) -> dict[str, Any]:
    """JSON-ready view of a post and its targets."""
    return {
        "id": post.id,
        "status": str(post.status),
        "body": post.body,
        "variants": post.variants,
        "thread": post.thread,
        "media_ids": post.media_ids,
        "options": post.options,
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
        "timezone": post.timezone,
        "recurrence": post.recurrence,
        "created_at": post.created_at.isoformat(),
        "targets": [
            {
                "id": t.id,
                "account_id": t.account_id,
                "platform": t.platform,
                "status": str(t.status),
                "attempts": t.attempts,
                "external_id": t.external_id,
                "part_ids": list(t.part_ids),
                "url": t.url,
                "error": t.last_error,
                "published_at": t.published_at.isoformat() if t.published_at else None,
            }
            for t in targets
        ],
    }


def _window_edge(when: datetime | None, zone: str, field: str) -> datetime | None:
    """A listing window's edge in UTC; a local time the clocks skip is refused naming `field`."""
    if when is None or when.tzinfo is not None:
        return when
    from ocma_core.services.post_input import local_to_utc

    try:
        return local_to_utc(when, zone, ambiguous="earlier")
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.message.replace("scheduled_at", field, 1),
            problems=[{"field": field, "message": "falls in the hour the clocks skip"}],
            fix=exc.fix,
        ) from None
