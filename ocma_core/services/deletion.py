"""Deleting a published post from its platforms: everywhere or on chosen accounts, every part of a thread.

Each part is deleted with the platform's `delete()`, last part first (replies before the post they answer),
through `call_with_refresh` (a refused token is refreshed once), within the account's and the app's rate
budget for deletes (`Ocma.budgets`, shared through Redis when configured). Every call is recorded as a
`PublishAttempt` with action "delete". A part the platform no longer has counts as deleted.

A target becomes `deleted` only when every part is gone; its url and ids stay for the record. A target that
fails keeps its status (`published`) and the result says why: the platform's reason, or when to try again.
The post becomes `deleted` when no target of it is published or on its way any more and at least one was
deleted; a post deleted on some accounts and still published on others keeps its status.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.db.analytics_models import MetricSchedule
from ocma_core.db.models import Account, AccountStatus, Post, PostStatus, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine.budgets import Budgets, observed_limits, platform_buckets
from ocma_core.engine.calls import recorded_call
from ocma_core.errors import (
    AuthExpired,
    ConflictError,
    NotFoundError,
    OcmaError,
    PlatformError,
    RateLimited,
    Rejected,
    Surface,
    Transient,
    Unconfirmed,
    ValidationFailed,
)
from ocma_core.events import Event, dispatch, record
from ocma_core.platforms import AccountContext, Capability, Platform
from ocma_core.registry import get_platform
from ocma_core.services.posts import get_post

log = logging.getLogger(__name__)
# A short wait for the rate budget is sat out; a longer one fails the target with the time to try again.
BUDGET_WAIT_S = 2.0
RETRY_WAITS_S = (0.5, 2.0)  # after a passing failure (a delete is safe to repeat: gone counts as deleted)
_WORKER = f"{socket.gethostname()}:{os.getpid()}:delete"
_GONE_STATUSES = {TargetStatus.DELETED, TargetStatus.FAILED, TargetStatus.CANCELLED}
_SKIP_REASONS = {
    TargetStatus.DELETED: "already deleted",
    TargetStatus.PENDING: "the platform is still processing it; delete it once it is published",
    TargetStatus.PUBLISHING: "it is being published right now; try again in a few seconds",
    TargetStatus.UNCONFIRMED: "OCMA is still checking whether it was published; try again in a minute",
}


@dataclass
class TargetDeletion:
    """What deleting did on one account: status "deleted", "failed" or "skipped", and why."""

    target_id: str
    account_id: str
    handle: str
    platform: str
    status: str
    reason: str = ""
    url: str | None = None
    parts: int = 0  # parts the platform held (a thread has several)
    parts_deleted: int = 0
    retry_at: datetime | None = None  # when a rate limit lets it be tried again

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return data


@dataclass
class PlannedTarget:
    """A published target to delete: its account and the platform ids of its parts, first part first."""

    target: Target
    account: Account
    parts: list[str]
    note: str = ""


@dataclass
class DeletionPlan:
    """What `delete_published` would do: the targets it deletes and those it leaves, with why."""

    post: Post
    to_delete: list[PlannedTarget] = field(default_factory=list)
    skipped: list[TargetDeletion] = field(default_factory=list)


class _PartFailed(Exception):
    """Deleting one part failed; the target stops there (its earlier parts may be gone)."""

    def __init__(self, reason: str, retry_at: datetime | None = None, *, passing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at
        self.passing = passing  # a passing failure (5xx, timeout): asked again at once, twice at most


def deletion_plan(
    ocma: Ocma, workspace_id: str, post_id: str, account_ids: Sequence[str] | None = None
) -> DeletionPlan:
    """The published targets of a post (on `account_ids`, else everywhere) that deleting would remove.

    NotFoundError for an unknown post or an account the post was not sent to; ConflictError (with a fix)
    when nothing of it is published there.
    """
    with ocma.session() as session:
        post = get_post(ocma, workspace_id, post_id, session)
        targets = list(session.exec(select(Target).where(Target.post_id == post.id)))
        if account_ids is not None:
            wanted = list(dict.fromkeys(account_ids))
            if not wanted:
                raise ValidationFailed(
                    "No account given.", fix="Name the accounts to delete it from, or leave them out for all."
                )
            on_post = {t.account_id for t in targets}
            missing = [a for a in wanted if a not in on_post]
            if missing:
                raise NotFoundError(
                    f"Post {post_id} was not sent to account(s) {', '.join(missing)}.",
                    fix=f"Its accounts: {', '.join(sorted(on_post)) or 'none'}.",
                )
            targets = [t for t in targets if t.account_id in wanted]
        ids = [t.account_id for t in targets]
        accounts = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(ids)))}
    plan = DeletionPlan(post)
    for target in targets:
        account = accounts[target.account_id]
        if target.status is TargetStatus.PUBLISHED and target.external_id:
            plan.to_delete.append(_planned(post, target, account))
        else:
            reason = _SKIP_REASONS.get(target.status, f"not published ({target.status})")
            plan.skipped.append(_result(target, account, "skipped", reason))
    if not plan.to_delete:
        fix, fixes = _nothing_fix(post, targets)
        raise ConflictError(
            f"Nothing of post {post_id} is published{' on those accounts' if account_ids else ''}: "
            + "; ".join(f"{s.platform} @{s.handle}: {s.reason}" for s in plan.skipped),
            fix=fix,
            fixes=fixes,
        )
    return plan


def _planned(post: Post, target: Target, account: Account) -> PlannedTarget:
    assert target.external_id is not None
    parts = list(target.part_ids) or [target.external_id]
    if target.external_id not in parts:
        parts.insert(0, target.external_id)
    note = ""
    if not target.part_ids and post.thread:
        more = len(post.thread)
        note = (
            f"Only the first part's id was recorded (published before OCMA kept thread ids): delete the rest "
            f"of the thread ({more} more part{'s' if more > 1 else ''}) on {target.platform} itself."
        )
    return PlannedTarget(target, account, parts, note)


def _nothing_fix(post: Post, targets: list[Target]) -> tuple[str, dict[Surface, str]]:
    """The advice when nothing of a post is out: in general, and per surface."""
    statuses = {t.status for t in targets}
    if statuses and statuses <= {TargetStatus.DELETED}:
        return "It was already deleted; nothing is left to do.", {}
    if statuses & {TargetStatus.PUBLISHING, TargetStatus.UNCONFIRMED, TargetStatus.PENDING}:
        return "Wait until publishing has finished, then delete it.", {
            "cli": f"Wait until publishing has finished (`ocma posts show {post.id}`), then delete it.",
            "api": f"Wait until publishing has finished (GET /v1/posts/{post.id}), then delete it.",
        }
    return "To stop it from going out, cancel it instead.", {
        "cli": f"To stop it from going out, cancel it instead: `ocma posts cancel {post.id}`.",
        "api": f"To stop it from going out, cancel it instead: POST /v1/posts/{post.id}/cancel.",
    }


def _result(target: Target, account: Account, status: str, reason: str = "", **kw: Any) -> TargetDeletion:
    return TargetDeletion(
        target_id=target.id,
        account_id=account.id,
        handle=account.handle,
        platform=target.platform,
        status=status,
        reason=reason,
        url=target.url,
        **kw,
    )


async def delete_published(
    ocma: Ocma,
    workspace_id: str,
    post_id: str,
    *,
    account_ids: Sequence[str] | None = None,
    by: str = "",
    budgets: Budgets | None = None,
) -> list[TargetDeletion]:
    """Delete a published post from its platforms (on `account_ids`, else everywhere); one result per target.

    `by` names who asked (recorded with the attempts and in the `post.deleted` event). One target failing
    (the platform refuses, a rate limit) leaves the others to go on.
    """
    plan = await asyncio.to_thread(deletion_plan, ocma, workspace_id, post_id, account_ids)
    budgets = budgets or ocma.budgets
    done: dict[str, TargetDeletion] = {s.target_id: s for s in plan.skipped}
    for planned in plan.to_delete:
        done[planned.target.id] = await _delete_target(ocma, planned, budgets, by)
    order = [t.target.id for t in plan.to_delete] + [s.target_id for s in plan.skipped]
    results = [done[target_id] for target_id in order]
    await asyncio.to_thread(_record_outcome, ocma, plan.post, results, by)
    return results


def delete_published_sync(
    ocma: Ocma, workspace_id: str, post_id: str, *, account_ids: Sequence[str] | None = None, by: str = ""
) -> list[TargetDeletion]:
    """`delete_published` for synchronous callers (the CLI)."""
    return asyncio.run(delete_published(ocma, workspace_id, post_id, account_ids=account_ids, by=by))


async def _delete_target(ocma: Ocma, planned: PlannedTarget, budgets: Budgets, by: str) -> TargetDeletion:
    target, account, parts = planned.target, planned.account, planned.parts
    try:
        platform = get_platform(target.platform)
    except OcmaError as exc:
        return _result(target, account, "failed", str(exc), parts=len(parts))
    name = platform.display_name or platform.name
    if Capability.DELETE not in platform.capabilities:
        reason = f"{name} does not let apps delete posts; delete it on {name} itself."
        return _result(target, account, "failed", reason, parts=len(parts))
    if account.status is not AccountStatus.CONNECTED:
        reason = (
            f"The {name} account @{account.handle} needs reconnecting ({account.last_error or account.status}): "
            f"`ocma accounts connect {platform.name}`, then delete again."
        )
        return _result(target, account, "failed", reason, parts=len(parts))
    deleted = 0
    for position, part_id in reversed(list(enumerate(parts, start=1))):
        try:
            await _delete_part_retrying(
                ocma, platform, planned, part_id, f"{position}/{len(parts)}", budgets, by
            )
        except _PartFailed as exc:
            left = f" ({deleted} of {len(parts)} parts were deleted)" if deleted else ""
            return _result(
                target,
                account,
                "failed",
                exc.reason + left,
                parts=len(parts),
                parts_deleted=deleted,
                retry_at=exc.retry_at,
            )
        deleted += 1
    return _result(target, account, "deleted", planned.note, parts=len(parts), parts_deleted=deleted)


async def _delete_part_retrying(
    ocma: Ocma,
    platform: Platform,
    planned: PlannedTarget,
    part_id: str,
    position: str,
    budgets: Budgets,
    by: str,
) -> None:
    """`_delete_part`, asked again after a passing failure (RETRY_WAITS_S); other failures end at once."""
    for wait in (*RETRY_WAITS_S, None):
        try:
            await _delete_part(ocma, platform, planned, part_id, position, budgets, by)
            return
        except _PartFailed as exc:
            if not exc.passing or wait is None:
                raise
        await asyncio.sleep(wait)


async def _delete_part(
    ocma: Ocma,
    platform: Platform,
    planned: PlannedTarget,
    part_id: str,
    position: str,
    budgets: Budgets,
    by: str,
) -> None:
    """Delete one part within the rate budget, recording the call; _PartFailed says why it did not work."""
    account, name = planned.account, platform.display_name or platform.name
    keys, declared = platform_buckets(platform, account.id, "delete", lambda b: "delete" in b.bucket.lower())
    lease = f"delete:{planned.target.id}:{part_id}:{uuid.uuid4().hex[:8]}"
    wait = await _acquire(budgets, keys, declared, lease)
    if wait > 0:
        when = utcnow() + timedelta(seconds=wait)
        raise _PartFailed(
            f"The {name} rate budget for deletes is spent; try again after {when.isoformat(timespec='seconds')}.",
            retry_at=when,
        )
    contexts: list[AccountContext] = []
    blocked_until: float | None = None
    summary = f"delete {platform.name} part {position} {part_id}{f' for {by}' if by else ''}"
    try:
        await recorded_call(
            ocma,
            platform,
            account.id,
            lambda ctx: platform.delete(ctx, part_id),
            target_id=planned.target.id,
            action="delete",
            worker=_WORKER,
            summary=summary,
            contexts=contexts,
            outcome_of=lambda exc: "gone" if _gone(exc) else type(exc).__name__,
        )
    except PlatformError as exc:
        if not _gone(exc):  # the platform no longer has it: that is what deleting wants
            if isinstance(exc, RateLimited):
                blocked_until = exc.retry_at.timestamp()
            raise _PartFailed(
                _reason(exc, name, platform.name),
                getattr(exc, "retry_at", None),
                passing=isinstance(exc, Transient | Unconfirmed),
            ) from None
    except Exception as exc:  # a plugin bug must not leave the other targets undone
        log.exception("deleting part %s of target %s failed", part_id, planned.target.id)
        raise _PartFailed(f"Unexpected error from the {name} plugin: {exc!r}") from None
    finally:
        observed = observed_limits(platform.name, account.id, contexts, "delete")
        budgets.release(keys, declared, observed, blocked_until, lease)


def _gone(exc: PlatformError) -> bool:
    return isinstance(exc, Rejected) and exc.status == 404


def _reason(exc: PlatformError, name: str, platform: str) -> str:
    """What a failed delete call means for the person who asked, and what to do."""
    if isinstance(exc, RateLimited):
        when = exc.retry_at.isoformat(timespec="seconds")
        return f"{name} rate limit reached ({exc.message}); try again after {when}."
    if isinstance(exc, AuthExpired):
        return (
            f"{name} authorisation expired and could not be refreshed ({exc.message}); reconnect the account "
            f"(`ocma accounts connect {platform}`), then delete again."
        )
    if isinstance(exc, Rejected):
        return f"{name} refused to delete it: {exc.message}"
    if isinstance(exc, Transient):
        return f"{name} failed for now ({exc.message}); try again."
    if isinstance(exc, Unconfirmed):
        return (
            f"{name} did not answer in time ({exc.message}), so it may or may not be deleted; delete again "
            "to make sure (a part already gone counts as deleted)."
        )
    return f"{name}: {exc.message}"


async def _acquire(budgets: Budgets, keys: list[str], declared: list[Any], lease: str) -> float:
    """Reserve one call, sitting out waits up to BUDGET_WAIT_S; else the seconds to wait (0: reserved)."""
    deadline = time.monotonic() + BUDGET_WAIT_S
    while (wait := budgets.try_acquire(keys, declared, lease)) > 0:
        if time.monotonic() + wait > deadline:
            return wait
        await asyncio.sleep(wait)
    return 0.0


def _record_outcome(ocma: Ocma, post: Post, results: list[TargetDeletion], by: str) -> None:
    """Mark the deleted targets (and the post when nothing of it is out any more); emit post.deleted."""
    now = utcnow()
    deleted_ids = [r.target_id for r in results if r.status == "deleted"]
    event: Event | None = None
    with ocma.session() as session:
        changed = 0
        for target_id in deleted_ids:
            result = session.execute(
                update(Target)
                .where(col(Target.id) == target_id, col(Target.status) == TargetStatus.PUBLISHED)
                .values(status=TargetStatus.DELETED, updated_at=now)
            )
            changed += int(result.rowcount)  # type: ignore[attr-defined]
        if not changed:
            return
        # Metrics of a deleted post can no longer be read: stop collecting them (the snapshots stay).
        session.execute(
            update(MetricSchedule)
            .where(col(MetricSchedule.kind) == "post", col(MetricSchedule.ref_id).in_(deleted_ids))
            .values(next_due_at=None, note="deleted from the platform")
        )
        row = session.get(Post, post.id)
        assert row is not None
        statuses = {t.status for t in session.exec(select(Target).where(Target.post_id == post.id))}
        if statuses <= _GONE_STATUSES and TargetStatus.DELETED in statuses:
            row.status, row.updated_at = PostStatus.DELETED, now
            session.add(row)
        event = Event(
            "post.deleted",
            post.workspace_id,
            {
                "post_id": post.id,
                "post_status": str(row.status),
                "by": by,
                "targets": [r.as_dict() for r in results],
            },
        )
        record(session, event)
    dispatch(event, ocma)
