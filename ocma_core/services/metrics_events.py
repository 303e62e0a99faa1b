"""`metrics.updated`: recorded with a new post or account snapshot when its numbers differ from the previous
reading, carrying the new values and the change (historical backfills stay quiet)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from ocma_core.db.models import Account, AccountMetricSnapshot, PostMetricSnapshot, Target
from ocma_core.events import Event, record


def _delta(values: dict[str, Any], previous: dict[str, Any]) -> dict[str, float]:
    """The change of every number present in both readings."""
    out: dict[str, float] = {}
    for name, value in values.items():
        before = previous.get(name)
        if isinstance(value, int | float) and isinstance(before, int | float) and value != before:
            out[name] = value - before
    return out


def _event(
    session: Session, workspace_id: str, base: dict[str, Any], values: dict[str, Any], previous: Any
) -> Event | None:
    delta = _delta(values, dict(previous) if previous is not None else {})
    if previous is not None and not delta:
        return None  # nothing changed: no event
    payload = {**base, "values": values, "delta": delta}
    if previous is None:
        payload["first"] = True
    event = Event("metrics.updated", workspace_id, payload)
    record(session, event)
    return event


def post_metrics_changed(session: Session, target: Target, row: PostMetricSnapshot) -> Event | None:
    """Record metrics.updated for a post snapshot just added (flushed) when its numbers changed."""
    previous = session.exec(
        select(PostMetricSnapshot.values)
        .where(PostMetricSnapshot.target_id == target.id, PostMetricSnapshot.id != row.id)
        .where(col(PostMetricSnapshot.fetched_at) <= row.fetched_at)
        .order_by(col(PostMetricSnapshot.fetched_at).desc())
        .limit(1)
    ).first()
    base = {
        "scope": "post",
        "post_id": target.post_id,
        "target_id": target.id,
        "account_id": target.account_id,
        "platform": target.platform,
        "fetched_at": row.fetched_at.isoformat(),
    }
    return _event(session, target.workspace_id, base, dict(row.values), previous)


def account_metrics_changed(session: Session, row: AccountMetricSnapshot) -> Event | None:
    """Record metrics.updated for an account snapshot just added (flushed) when its numbers changed."""
    account = session.get(Account, row.account_id)
    if account is None:
        return None
    previous = session.exec(
        select(AccountMetricSnapshot.values)
        .where(AccountMetricSnapshot.account_id == row.account_id, AccountMetricSnapshot.id != row.id)
        .where(col(AccountMetricSnapshot.fetched_at) <= row.fetched_at)
        .order_by(col(AccountMetricSnapshot.fetched_at).desc())
        .limit(1)
    ).first()
    base = {
        "scope": "account",
        "account_id": row.account_id,
        "platform": row.platform,
        "fetched_at": row.fetched_at.isoformat(),
    }
    return _event(session, account.workspace_id, base, dict(row.values), previous)
