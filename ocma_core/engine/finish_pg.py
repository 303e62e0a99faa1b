"""A target's finish on PostgreSQL in two statements of one transaction.

First: the owned target's update and the read of its post's targets (a CTE: one round trip). Second: the audit
rows, the post's final status and the events' notifications (data-modifying CTEs: one round trip). Every part of
a statement sees the same snapshot, so the target just updated is read with its old values and its new ones are
taken from the update's RETURNING.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session

from ocma_core.db.models import Notification, Post, PublishAttempt, Target, TargetStatus
from ocma_core.events import Event

TargetRow = tuple[str, str, TargetStatus, str | None, str | None]  # id, platform, status, url, error


def finish_in_two(
    session: Session,
    target_id: str,
    worker: str,
    status: TargetStatus,
    now: datetime,
    audit: list[dict[str, Any]],
    values: dict[str, object],
) -> tuple[bool, list[Event]]:
    """Move the owned target to `status`, store `audit` rows, settle the post; (done, events to dispatch)."""
    from ocma_core.engine import transitions

    table, posts = Target.__table__, Post.__table__  # type: ignore[attr-defined]
    done = (
        update(table)
        .where(
            table.c.id == target_id,
            table.c.status == TargetStatus.PUBLISHING,
            table.c.claimed_by == worker,
        )
        .values(status=status, claimed_by=None, updated_at=now, **values)
        .returning(table.c.post_id, table.c.workspace_id, table.c.platform, table.c.url, table.c.last_error)
        .cte("done")
    )
    sibling = table.alias("sibling")
    query = select(
        done.c.post_id,
        done.c.workspace_id,
        done.c.platform,
        done.c.url,
        done.c.last_error,
        sibling.c.id,
        sibling.c.platform,
        sibling.c.status,
        sibling.c.url,
        sibling.c.last_error,
        posts.c.status,
        posts.c.recurrence,
    ).select_from(
        done.join(sibling, sibling.c.post_id == done.c.post_id).join(posts, posts.c.id == done.c.post_id)
    )
    rows = session.execute(query).all()
    if not rows:
        return False, []
    post_id, workspace_id, platform, url, error = rows[0][:5]
    targets: list[TargetRow] = [
        (target_id, platform, status, url, error) if r[5] == target_id else (r[5], r[6], r[7], r[8], r[9])
        for r in rows
    ]
    writes: list[UpdateBase] = []
    if audit:
        writes.append(insert(PublishAttempt.__table__).values(audit))  # type: ignore[attr-defined]
    new = transitions.final_status([t[2] for t in targets], rows[0][10])
    events: list[Event] = []
    if new is not None and rows[0][11]:  # recurring: the next occurrence is spawned from the ORM post (rare)
        events = transitions.refresh_post_status(session, post_id)
    elif new is not None:
        writes.append(update(posts).where(posts.c.id == post_id).values(status=new, updated_at=now))
        as_dicts: list[dict[str, object]] = [
            {"target_id": t[0], "platform": t[1], "status": str(t[2]), "url": t[3], "error": t[4]}
            for t in targets
        ]
        events = [transitions.final_event(new, post_id, workspace_id, as_dicts)]
    if status is TargetStatus.UNCONFIRMED:
        payload = {"post_id": post_id, "target_id": target_id, "platform": platform}
        events.append(Event("target.unconfirmed", workspace_id, payload))
    if events:
        from ocma_core.eventlog import next_seq

        for e in events:  # each its place in the workspace's log (the counter row stays locked to commit)
            object.__setattr__(e, "seq", next_seq(session, e.workspace_id))
        rows_out = [
            Notification(
                workspace_id=e.workspace_id, kind=e.kind, payload=e.payload, created_at=e.at, seq=e.seq
            ).model_dump()
            for e in events
        ]
        writes.append(insert(Notification.__table__).values(rows_out))  # type: ignore[attr-defined]
    if writes:
        session.execute(one_statement(writes))
    return True, events


def one_statement(writes: list[UpdateBase]) -> UpdateBase:
    """The last write, with the others as data-modifying CTEs before it (one round trip; all or nothing)."""
    *before, last = writes
    ctes = [w.returning(*_key_of(w)).cte(f"w{i}") for i, w in enumerate(before)]
    return last.add_cte(*ctes) if ctes else last


def _key_of(write: UpdateBase) -> list[Any]:
    table = write.table
    return [table.c.id]


_FINISH_ONE = """
WITH done AS (
  UPDATE target SET status = :status, claimed_by = NULL, updated_at = :now{sets}
  WHERE id = :tid AND status = 'publishing' AND claimed_by = :worker
    AND NOT EXISTS (SELECT 1 FROM post p WHERE p.id = target.post_id AND {recurring})
  RETURNING id, post_id, workspace_id, platform, status, url, last_error
), sib AS (
  SELECT t.id, t.platform, t.status, t.url, t.last_error
  FROM target t JOIN done ON t.post_id = done.post_id AND t.id <> done.id
  UNION ALL SELECT id, platform, status, url, last_error FROM done
), agg AS (
  SELECT CASE
      WHEN count(*) FILTER (WHERE status <> 'cancelled') = 0 THEN NULL
      WHEN bool_or(status NOT IN ('published', 'failed', 'cancelled', 'deleted')) THEN NULL
      WHEN bool_and(status IN ('published', 'cancelled')) THEN 'published'
      WHEN bool_or(status = 'published') THEN 'partially_published'
      WHEN bool_and(status IN ('deleted', 'cancelled')) THEN NULL
      ELSE 'failed' END AS new,
    json_agg(json_build_object(
      'target_id', id, 'platform', platform, 'status', status, 'url', url, 'error', last_error)) AS targets,
    coalesce(string_agg(last_error, '; ') FILTER (WHERE last_error <> ''), '') AS reason
  FROM sib
), settled AS (
  UPDATE post SET status = agg.new, updated_at = :now FROM agg
  WHERE post.id = (SELECT post_id FROM done) AND agg.new IS NOT NULL AND post.status <> agg.new
  RETURNING post.id, post.workspace_id, agg.new, agg.targets, agg.reason
), cnt AS (
  INSERT INTO eventcounter (workspace_id, last_seq)
  SELECT done.workspace_id, n.k FROM done,
    (SELECT (SELECT count(*) FROM settled) + (CASE WHEN :unconfirmed THEN 1 ELSE 0 END) AS k) n
  WHERE n.k > 0
  ON CONFLICT (workspace_id) DO UPDATE SET last_seq = eventcounter.last_seq + EXCLUDED.last_seq
  RETURNING last_seq
), note AS (
  INSERT INTO notification (id, workspace_id, kind, payload, created_at, read_at, seq)
  SELECT :note_id, workspace_id, 'post.' || new,
    CASE WHEN new = 'failed' THEN json_build_object('post_id', id, 'targets', targets, 'reason', reason)
         ELSE json_build_object('post_id', id, 'targets', targets) END,
    :now, CAST(NULL AS TIMESTAMP WITH TIME ZONE),
    (SELECT last_seq FROM cnt) - (CASE WHEN :unconfirmed THEN 1 ELSE 0 END) FROM settled
  UNION ALL
  SELECT :unconfirmed_id, workspace_id, 'target.unconfirmed',
    json_build_object('post_id', post_id, 'target_id', id, 'platform', platform), :now,
    CAST(NULL AS TIMESTAMP WITH TIME ZONE), (SELECT last_seq FROM cnt)
  FROM done WHERE :unconfirmed
  RETURNING workspace_id, kind, payload, seq
){audit}
SELECT (SELECT count(*) FROM done) AS done,
  (SELECT {recurring} FROM post p JOIN target t ON t.post_id = p.id WHERE t.id = :tid) AS recurring,
  (SELECT json_agg(json_build_array(workspace_id, kind, payload, seq) ORDER BY seq) FROM note) AS events
"""
_AUDIT_COLUMNS = (
    "id",
    "target_id",
    "action",
    "outcome",
    "http_status",
    "error",
    "request_summary",
    "worker",
    "started_at",
    "duration_ms",
)


def finish_in_one(
    engine: Any,
    target_id: str,
    worker: str,
    status: TargetStatus,
    now: datetime,
    audit: list[dict[str, Any]],
    values: dict[str, object],
) -> tuple[bool | None, list[Event]]:
    """The whole finish as one autocommit statement: (done, events); done is None for a recurring post (whose
    next occurrence is spawned in Python: the caller takes the transactional path)."""
    from ocma_core.db.types import new_id

    statement = _finish_statement(tuple(values), len(audit), engine.dialect)
    params: dict[str, Any] = {
        "status": status,
        "now": now,
        "tid": target_id,
        "worker": worker,
        "note_id": new_id(),
        "unconfirmed_id": new_id(),
        "unconfirmed": status is TargetStatus.UNCONFIRMED,
    }
    params.update({f"v{i}": value for i, value in enumerate(values.values())})
    for i, row in enumerate(audit):
        params.update({f"a{i}_{c}": row[c] for c in _AUDIT_COLUMNS})
    with engine.connect() as conn:
        done, recurring, raw = conn.execute(statement, params).one()
        conn.commit()
    if not done:
        return (None if recurring else False), []
    return True, [
        Event(kind, workspace, payload, now, seq=int(seq)) for workspace, kind, payload, seq in raw or []
    ]


@functools.lru_cache(maxsize=64)
def _finish_statement(columns: tuple[str, ...], audit_rows: int, dialect: Any) -> TextClause:
    """The finish statement for one shape (which target columns are set, how many audit rows), with typed
    parameters and no values: built and parsed once per shape, not per publish."""
    table = Target.__table__  # type: ignore[attr-defined]
    attempts = PublishAttempt.__table__  # type: ignore[attr-defined]
    params: list[Any] = [
        bindparam("status", type_=table.c.status.type),
        bindparam("now", type_=table.c.updated_at.type),
        bindparam("tid"),
        bindparam("worker"),
        bindparam("note_id"),
        bindparam("unconfirmed_id"),
        bindparam("unconfirmed"),
    ]
    sets = ""
    for i, column in enumerate(columns):
        sets += f", {table.c[column].name} = :v{i}"
        params.append(bindparam(f"v{i}", type_=table.c[column].type))
    types = {c: attempts.c[c].type.compile(dialect=dialect) for c in _AUDIT_COLUMNS}
    selects = []
    for i in range(audit_rows):
        # Typed: in a UNION an untyped NULL would be taken as text.
        names = [f"CAST(:a{i}_{c} AS {types[c]})" for c in _AUDIT_COLUMNS]
        selects.append(f"SELECT {', '.join(names)} WHERE EXISTS (SELECT 1 FROM done)")
        params += [bindparam(f"a{i}_{c}", type_=attempts.c[c].type) for c in _AUDIT_COLUMNS]
    audit_cte = (
        f", audit AS (INSERT INTO publishattempt ({', '.join(_AUDIT_COLUMNS)}) {' UNION ALL '.join(selects)})"
        if selects
        else ""
    )
    # A JSON column holds SQL NULL or JSON null for "no recurrence".
    recurring = "coalesce(p.recurrence::text, 'null') <> 'null'"
    return text(_FINISH_ONE.format(sets=sets, audit=audit_cte, recurring=recurring)).bindparams(*params)
