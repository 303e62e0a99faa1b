"""Database state changes of targets and posts. Each is one short transaction."""

from __future__ import annotations

import functools
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.db.types import new_id, utcnow
from ocma_core.events import Event, record

log = logging.getLogger(__name__)


@dataclass
class AttemptRecord:
    """One platform call, to be stored as a PublishAttempt row (a plain object: cheap to make per call)."""

    target_id: str
    action: str
    outcome: str
    worker: str
    request_summary: str
    started_at: datetime
    duration_ms: float
    http_status: int | None = None
    error: str | None = None
    id: str = field(default_factory=new_id)


_ATTEMPT_COLUMNS = tuple(f.name for f in fields(AttemptRecord))
#: Audit rows of the platform calls made by the publish running in this context (engine/publisher.py sets it):
#: the next finish of their target stores them in its own transaction.
AUDIT: ContextVar[list[AttemptRecord] | None] = ContextVar("ocma_audit", default=None)
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
    got = claim_many(ocma, [target_id], worker)
    return got[0] if got else None


def claim_many(ocma: Ocma, target_ids: list[str], worker: str) -> list[Claimed]:
    """Claim the due targets among `target_ids` that no other worker has (each in one conditional update).

    PostgreSQL: one statement for them all (the update, the posts' flip to publishing and the read of what the
    publishes need, in one round trip). Elsewhere: one transaction of two or three statements per target.
    """
    if not target_ids:
        return []
    now = utcnow()
    if ocma.engine.dialect.name == "postgresql":
        rows = _claim_one_statement(ocma, sorted(set(target_ids)), worker, now)
    else:
        rows = [r for i in target_ids if (r := _claim_in_transaction(ocma, i, worker, now)) is not None]
    mono = time.monotonic()
    return [
        Claimed(
            target,
            post,
            account,
            needs_lookup=target.unconfirmed_since is not None,
            claimed_mono=mono,
            needs_poll=prior is TargetStatus.PENDING,
        )
        for target, post, account, prior in rows
    ]


def _claim_values(worker: str, now: datetime) -> dict[str, object]:
    return {
        "status": TargetStatus.PUBLISHING,
        "claimed_by": worker,
        "claimed_at": now,
        "attempts": Target.attempts + 1,
        "updated_at": now,
    }


def _claim_one_statement(
    ocma: Ocma, target_ids: list[str], worker: str, now: datetime
) -> list[tuple[Target, Post, Account, TargetStatus]]:
    """UPDATE … RETURNING in a CTE; every part of one statement sees the same snapshot, so the target table
    joined in the outer select still shows the status each target was claimed from."""
    with Session(autocommit_engine(ocma), expire_on_commit=False) as session:
        rows = session.execute(_claim_statement(), {"ids": target_ids, "worker": worker, "now": now}).all()
    return [(target, post, account, TargetStatus(prior)) for target, post, account, prior in rows]


@functools.cache
def _claim_statement() -> Any:
    """The claim statement, built once per process (building it cost more than running it)."""
    table = Target.__table__  # type: ignore[attr-defined]
    now = bindparam("now", type_=table.c.claimed_at.type)
    updated = (
        update(table)
        .where(
            table.c.id.in_(bindparam("ids", expanding=True)),
            table.c.status.in_(CLAIMABLE),
            table.c.due_at <= now,
        )
        .values(
            status=TargetStatus.PUBLISHING,
            claimed_by=bindparam("worker"),
            claimed_at=now,
            attempts=table.c.attempts + 1,
            updated_at=now,
        )
        .returning(*table.c)
        .cte("claimed")
    )
    posts = Post.__table__  # type: ignore[attr-defined]
    flip = (
        update(posts)
        .where(posts.c.id.in_(select(updated.c.post_id)), posts.c.status == PostStatus.SCHEDULED)
        .values(status=PostStatus.PUBLISHING, updated_at=now)
        .cte("flip")
    )
    claimed, before = aliased(Target, updated), aliased(Target)
    return (
        select(claimed, Post, Account, before.status)
        .join(Post, col(Post.id) == claimed.post_id)
        .join(Account, col(Account.id) == claimed.account_id)
        .join(before, col(before.id) == claimed.id)
        .add_cte(flip)
    )


def _claim_in_transaction(
    ocma: Ocma, target_id: str, worker: str, now: datetime
) -> tuple[Target, Post, Account, TargetStatus] | None:
    with ocma.session() as session:
        # The status it is claimed from decides what to do (publish, or ask about a pending one), so the
        # update only succeeds from the status read here.
        row = session.execute(
            select(Target, Post, Account)
            .join(Post, col(Post.id) == Target.post_id)
            .join(Account, col(Account.id) == Target.account_id)
            .where(col(Target.id) == target_id)
        ).first()
        if row is None or row[0].status not in CLAIMABLE:
            return None
        target, post, account = row
        prior = target.status
        fresh = session.execute(
            update(Target)
            .where(col(Target.id) == target_id, col(Target.status) == prior, col(Target.due_at) <= now)
            .values(**_claim_values(worker, now))
            .returning(Target)
            .execution_options(populate_existing=True, synchronize_session=False)
        ).scalar_one_or_none()
        if fresh is None:
            return None
        if post.status is PostStatus.SCHEDULED:
            session.execute(
                update(Post)
                .where(col(Post.id) == post.id, col(Post.status) == PostStatus.SCHEDULED)
                .values(status=PostStatus.PUBLISHING, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        session.expunge_all()
        return fresh, post, account, prior


_autocommit: dict[int, tuple[Engine, Engine]] = {}  # id(engine) -> (engine, its autocommit copy)


def autocommit_engine(ocma: Ocma) -> Engine:
    """The process's engine in autocommit mode (same pool): a single statement without BEGIN and COMMIT."""
    engine = ocma.engine
    found = _autocommit.get(id(engine))
    if found is None or found[0] is not engine:  # the id of a disposed engine may be reused
        found = _autocommit[id(engine)] = (engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
    return found[1]


def renew(ocma: Ocma, target_id: str, worker: str) -> bool:
    """Re-stamp an owned claim just before a platform call; False if another worker took it over."""
    with ocma.session() as session:
        result = session.execute(
            update(Target).where(*_owned(target_id, worker)).values(claimed_at=utcnow())  # type: ignore[arg-type]
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def add_attempt(ocma: Ocma, attempt: AttemptRecord) -> None:
    """Record one platform call (in a transaction of its own)."""
    with ocma.session() as session:
        store_attempt(session, attempt)


def _owned(target_id: str, worker: str) -> list[object]:
    return [
        col(Target.id) == target_id,
        col(Target.status) == TargetStatus.PUBLISHING,
        col(Target.claimed_by) == worker,
    ]


def finish(
    ocma: Ocma,
    target_id: str,
    worker: str,
    status: TargetStatus,
    **values: object,
) -> bool:
    """Move an owned target out of publishing; False if this worker no longer owns it.

    The target, the audit rows of its calls pending in this context (AUDIT; taken out once stored), the post's
    status and its events are one transaction. Should writing them together fail, the target's move is tried again alone (the
    platform's answer must not be lost to an audit row) and the audit rows are left in the list.
    """
    now = utcnow()
    pending = AUDIT.get()
    audit = [a for a in pending if a.target_id == target_id] if pending else None
    if audit:
        try:
            done, events = _finish(ocma, target_id, worker, status, now, list(audit), values)
        except Exception:
            log.exception(
                "could not store target %s with its audit rows; storing the target alone", target_id
            )
            done, events = _finish(ocma, target_id, worker, status, now, [], values)
        else:
            if done:
                _forget(audit)
    else:
        done, events = _finish(ocma, target_id, worker, status, now, [], values)
    if done and events:
        from ocma_core.events import dispatch

        for event in events:
            dispatch(event, ocma)
    return done


def _forget(stored: list[AttemptRecord]) -> None:
    """Take stored audit rows out of this context's pending rows."""
    ids = {id(a) for a in stored}
    rows = AUDIT.get()
    if rows:
        rows[:] = [a for a in rows if id(a) not in ids]


def _finish(
    ocma: Ocma,
    target_id: str,
    worker: str,
    status: TargetStatus,
    now: datetime,
    audit: list[AttemptRecord],
    values: dict[str, object],
) -> tuple[bool, list[Event]]:
    if ocma.engine.dialect.name == "postgresql":
        from ocma_core.engine.finish_pg import finish_in_one, finish_in_two

        rows = [attempt_row(a) for a in audit]
        if not any(isinstance(v, ClauseElement) for v in values.values()):  # plain values: one statement
            done, events = finish_in_one(
                autocommit_engine(ocma), target_id, worker, status, now, rows, values
            )
            if done is not None:
                return done, events
        with ocma.session() as session:
            return finish_in_two(session, target_id, worker, status, now, rows, values)
    with ocma.session() as session:
        row = session.execute(
            update(Target)
            .where(*_owned(target_id, worker))  # type: ignore[arg-type]
            .values(status=status, claimed_by=None, updated_at=now, **values)
            .returning(col(Target.post_id), col(Target.workspace_id), col(Target.platform))
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            return False, []
        post_id, workspace_id, platform = row
        for attempt in audit:
            store_attempt(session, attempt)
        events = _settle_post(session, post_id, now)
        if status is TargetStatus.UNCONFIRMED:
            events.append(
                Event(
                    "target.unconfirmed",
                    workspace_id,
                    {"post_id": post_id, "target_id": target_id, "platform": platform},
                )
            )
        for event in events:
            record(session, event)
    return True, events


def store_attempt(session: Session, attempt: AttemptRecord) -> None:
    """Add an audit row to the session."""
    session.add(PublishAttempt(**attempt_row(attempt)))


def attempt_row(attempt: AttemptRecord) -> dict[str, Any]:
    """The audit row's column values (shallow: dataclasses.asdict deep-copies every value)."""
    return {name: getattr(attempt, name) for name in _ATTEMPT_COLUMNS}


def _settle_post(session: Session, post_id: str, now: datetime) -> list[Event]:
    """The post's status from its targets in one read (no ORM load of every target); events of a final one."""
    rows = session.execute(
        sa_select(
            col(Target.id),
            col(Target.platform),
            col(Target.status),
            col(Target.url),
            col(Target.last_error),
            col(Post.status),
            col(Post.recurrence),
            col(Post.workspace_id),
        )
        .join(Post, col(Post.id) == Target.post_id)
        .where(col(Target.post_id) == post_id)
    ).all()
    new = final_status([r[2] for r in rows], rows[0][5])
    if new is None:
        return []
    if rows[0][6]:  # recurring: the next occurrence is spawned from the ORM post (rare; the general path)
        return _refresh_post_status(session, post_id)
    session.execute(
        update(Post)
        .where(col(Post.id) == post_id)
        .values(status=new, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    targets = [
        {"target_id": r[0], "platform": r[1], "status": str(r[2]), "url": r[3], "error": r[4]} for r in rows
    ]
    return [final_event(new, post_id, rows[0][7], targets)]


def final_status(statuses: list[TargetStatus], current: PostStatus) -> PostStatus | None:
    """The post's new final status from its targets' statuses; None while one is open or when unchanged."""
    considered: set[TargetStatus] = {s for s in statuses if s is not TargetStatus.CANCELLED}
    if not considered or not considered <= TERMINAL:
        return None
    new = _post_status_of(considered)
    return None if new is None or new is current else new


def _post_status_of(statuses: set[TargetStatus]) -> PostStatus | None:
    """A post's final status from its targets' (all terminal, cancelled ones left out); None: unchanged."""
    # A target deleted earlier (services/deletion.py) is no longer out there: with others published the
    # post is partially published; with only failures besides it, it failed.
    if statuses == {TargetStatus.PUBLISHED}:
        return PostStatus.PUBLISHED
    if TargetStatus.PUBLISHED in statuses:
        return PostStatus.PARTIALLY_PUBLISHED
    if statuses == {TargetStatus.DELETED}:
        return None
    return PostStatus.FAILED


def final_event(new: PostStatus, post_id: str, workspace_id: str, targets: list[dict[str, object]]) -> Event:
    payload: dict[str, object] = {"post_id": post_id, "targets": targets}
    kind = {
        PostStatus.PUBLISHED: "post.published",
        PostStatus.PARTIALLY_PUBLISHED: "post.partially_published",
        PostStatus.FAILED: "post.failed",
    }[new]
    if new is PostStatus.FAILED:
        payload["reason"] = "; ".join(str(t["error"]) for t in targets if t["error"])
    return Event(kind, workspace_id, payload)


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
    statuses: set[TargetStatus] = {t.status for t in targets if t.status is not TargetStatus.CANCELLED}
    if not statuses or not statuses <= TERMINAL:
        return []
    new = _post_status_of(statuses)
    if new is None or post.status is new:
        return []
    post.status, post.updated_at = new, utcnow()
    session.add(post)
    rows: list[dict[str, object]] = [
        {
            "target_id": t.id,
            "platform": t.platform,
            "status": str(t.status),
            "url": t.url,
            "error": t.last_error,
        }
        for t in targets
    ]
    events = [final_event(new, post.id, post.workspace_id, rows)]
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


def due_counts(ocma: Ocma, horizon: timedelta, limit: int = 5000) -> tuple[int, int]:
    """(claimable targets due within `horizon`, of which due now), each counted up to `limit`, in the database:
    the reconciler reads rows only when it has to push them."""
    now = utcnow()
    window = (
        sa_select(col(Target.due_at).label("due_at"))
        .where(col(Target.status).in_(CLAIMABLE), col(Target.due_at) <= now + horizon)
        .limit(limit)
        .subquery()
    )
    with ocma.session() as session:
        total, due_now = session.execute(
            sa_select(func.count(), func.coalesce(func.sum(case((window.c.due_at <= now, 1), else_=0)), 0))
        ).one()
    return int(total), int(due_now)


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
