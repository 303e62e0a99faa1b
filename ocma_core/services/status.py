"""The engine's state for `ocma status` and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import Target, TargetStatus, WorkerHeartbeat
from ocma_core.db.types import utcnow

COUNT_CAP = 10_000  # `ocma status` counts each status up to this, whatever the backlog


def database_connections(ocma: Ocma, workers: int) -> dict[str, Any]:
    """Connections: the most one process opens, the most all live workers and this process open together,
    and, on PostgreSQL, what the server allows and how many are open now."""
    per_process = ocma.settings.db_pool_size
    found: dict[str, Any] = {
        "backend": ocma.engine.dialect.name,
        "per_process": per_process,
        "processes": workers + 1,
        "max_total": per_process * (workers + 1),
    }
    if ocma.engine.dialect.name == "postgresql":
        with ocma.engine.connect() as conn:
            found["server_max"] = int(conn.execute(text("SHOW max_connections")).scalar_one())
            found["open_now"] = int(
                conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                ).scalar_one()
            )
    return found


def target_counts(session: Session) -> tuple[dict[str, int], list[str]]:
    """Targets by status, each counted up to COUNT_CAP through the (status, due_at) index, so the cost does
    not grow with the backlog; the statuses with more than that are listed apart (shown as "10000+")."""
    counts: dict[str, int] = {}
    beyond: list[str] = []
    for status in TargetStatus:
        some = select(Target.id).where(Target.status == status).limit(COUNT_CAP + 1).subquery()
        found = session.exec(select(func.count()).select_from(some)).one()
        if found:
            counts[str(status)] = min(found, COUNT_CAP)
        if found > COUNT_CAP:
            beyond.append(str(status))
    return counts, beyond


def engine_status(ocma: Ocma) -> dict[str, Any]:
    """Queue depth, workers seen recently, targets by status (each counted up to COUNT_CAP), and the oldest
    overdue target."""
    now = utcnow()
    with ocma.session() as session:
        counts, beyond = target_counts(session)
        oldest = session.exec(
            select(Target)
            .where(
                col(Target.status).in_([TargetStatus.QUEUED, TargetStatus.UNCONFIRMED, TargetStatus.PENDING]),
                col(Target.due_at) < now,
            )
            .order_by(col(Target.due_at))
            .limit(1)
        ).first()
        stale = now - timedelta(seconds=ocma.settings.worker_stale_s)
        workers = list(session.exec(select(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen) >= stale)))
    try:
        queue = {"kind": ocma.queue.kind, "depth": ocma.queue.depth(), "ok": ocma.queue.ping()}
        if ocma.settings.redis_url:
            queue["namespace"] = ocma.redis_namespace
    except Exception as exc:
        queue = {"kind": "redis", "depth": None, "ok": False, "error": type(exc).__name__}
    return {
        "queue": queue,
        "database": database_connections(ocma, len(workers)),
        "targets": counts,
        "targets_counted_up_to": COUNT_CAP,
        "targets_beyond_count": beyond,
        "oldest_overdue": {
            "target_id": oldest.id,
            "due_at": oldest.due_at.isoformat() if oldest.due_at else None,
            "overdue_s": (now - oldest.due_at).total_seconds() if oldest.due_at else None,
        }
        if oldest
        else None,
        "workers": [
            {"id": w.id, "kind": w.kind, "last_seen": w.last_seen.isoformat(), "jobs_done": w.jobs_done}
            for w in workers
        ],
    }
