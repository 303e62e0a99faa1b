"""Scheduling primitives shared by the post services: validation results, queue slots, queue or hold.

`posts` (create, update, approve, ...) and `calendar` (reschedule, edit, hold) both build on these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostStatus, Target, TargetStatus, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import ValidationFailed
from ocma_core.events import Event, dispatch, record
from ocma_core.recurrence import slot_times

EDITABLE = {PostStatus.DRAFT, PostStatus.PENDING_APPROVAL, PostStatus.SCHEDULED, PostStatus.FAILED}
OPEN_TARGETS = {TargetStatus.DRAFT, TargetStatus.QUEUED, TargetStatus.HELD, TargetStatus.FAILED}


@dataclass
class TargetCheck:
    """Validation of one target: the platform's length count, limit and problems."""

    account_id: str
    platform: str
    handle: str
    length: int
    limit: int
    unit: str
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the platform would accept it."""
        return not self.problems


def raise_if_invalid(checks: list[TargetCheck]) -> None:
    """Refuse with every target's problems, per platform, when any target would be refused."""
    bad = [c for c in checks if not c.ok]
    if bad:
        problems = [
            {"account_id": c.account_id, "platform": c.platform, **p} for c in bad for p in c.problems
        ]
        summary = "; ".join(f"{c.platform} ({c.handle}): {c.problems[0]['message']}" for c in bad)
        raise ValidationFailed(f"The post cannot be scheduled: {summary}", problems=problems)


def next_free_slot(session: Session, workspace: Workspace, accounts: list[Account]) -> datetime:
    """The first queue slot free for every one of the accounts."""
    now = utcnow()
    slot_sets = []
    for account in accounts:
        slots = account.settings.get("queue_slots") or workspace.settings.get("queue_slots")
        if not slots:
            raise ValidationFailed(
                f"{account.handle} has no queue slots.",
                fix='Set workspace setting queue_slots, e.g. {"weekdays": ["mon","wed"], "times": ["09:00"]}.',
            )
        slot_sets.append(set(slot_times(slots, now, workspace.timezone)))
    candidates = sorted(set.intersection(*slot_sets))
    # Only the candidate slots are looked up (a due_at column, not ORM objects): the cost follows the number of
    # slots in the coming weeks, not the accounts' whole backlog.
    taken = (
        set(
            session.exec(
                select(Target.due_at).where(
                    col(Target.account_id).in_([a.id for a in accounts]),
                    col(Target.status).in_([TargetStatus.QUEUED, TargetStatus.DRAFT]),
                    col(Target.due_at).in_(candidates),
                )
            )
        )
        if candidates
        else set()
    )
    for when in candidates:
        if when not in taken:
            return when
    raise ValidationFailed("No free queue slot in the coming weeks for all selected accounts.")


def queue_or_hold(
    session: Session,
    workspace: Workspace,
    post: Post,
    when: datetime,
    *,
    approved: bool = False,
    hold: bool = False,
) -> Event | None:
    """Queue the post's targets for `when`, or hold it for approval when it needs one and its content is not
    the content approved (services/approval.py). `approved` no longer lets a caller vouch for a post: only an
    approval of this exact content does."""
    from ocma_core.services.approval import is_approved, needs_approval

    post.scheduled_at = when
    post.updated_at = utcnow()
    session.flush()
    targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
    if needs_approval(workspace, post, hold=hold) and not is_approved(session, post):
        post.status = PostStatus.PENDING_APPROVAL
        for target in targets:
            target.status, target.due_at = TargetStatus.DRAFT, when
            session.add(target)
        session.add(post)
        return approval_requested(session, post)
    post.status = PostStatus.SCHEDULED
    for target in targets:
        if target.status in OPEN_TARGETS:
            target.status, target.due_at, target.attempts, target.updated_at = (
                TargetStatus.QUEUED,
                when,
                0,
                utcnow(),
            )
            target.last_error = None
            forget_platform_copy(target)
            session.add(target)
    session.add(post)
    event = Event("post.scheduled", post.workspace_id, {"post_id": post.id, "scheduled_at": when.isoformat()})
    record(session, event)
    return event


def approval_requested(session: Session, post: Post) -> Event:
    """Record that the post now waits for approval (`post.approval_requested`); dispatch it after commit."""
    when = post.scheduled_at.isoformat() if post.scheduled_at else None
    event = Event("post.approval_requested", post.workspace_id, {"post_id": post.id, "scheduled_at": when})
    record(session, event)
    return event


def after_schedule(ocma: Ocma, post: Post, event: Event | None) -> None:
    """After commit: wake the queue and tell plugins (the reconciler covers a lost wake-up)."""
    if post.status is PostStatus.SCHEDULED and post.scheduled_at is not None:
        with ocma.session() as session:
            ids = [
                t.id
                for t in session.exec(
                    select(Target).where(Target.post_id == post.id, Target.status == TargetStatus.QUEUED)
                )
            ]
        try:
            ocma.queue.push_many([(i, post.scheduled_at) for i in ids])
        except Exception:  # Redis down: the reconciler will enqueue from the database
            pass
    if event is not None:
        dispatch(event, ocma)


def forget_platform_copy(target: Target) -> None:
    """Before a target goes out again: the platform's id of an earlier copy (one the platform accepted, then
    failed to process) no longer describes it. The engine relies on this: a claimable target carries a
    platform id only while it is pending (engine/transitions.recover_stale_claims)."""
    target.external_id, target.part_ids, target.url, target.published_at = None, [], None, None
