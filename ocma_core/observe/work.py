"""A worker's publish of one target, under the request id and trace of the request that made the target."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.observe import tracing
from ocma_core.observe.requestid import bound


def origin_of(ocma: Ocma, target_id: str) -> tuple[dict[str, Any], datetime | None]:
    """The target's origin (request id, traceparent) and due time."""
    from ocma_core.db.models import Target

    with ocma.session() as session:
        row = session.exec(select(Target.origin, Target.due_at).where(col(Target.id) == target_id)).first()
    if row is None:
        return {}, None
    return dict(row[0] or {}), row[1]


@contextmanager
def publishing(target_id: str, origin: dict[str, Any], due_at: datetime | None) -> Iterator[None]:
    """Logs carry the target's request id and target id; with tracing on, a 'queue' span (from the due time
    to now) and a 'publish' span continue the trace of the request that created the target."""
    request_id = str(origin.get("request_id") or "")
    with bound(request_id=request_id, target_id=target_id):
        parent = origin.get("traceparent")
        if tracing.enabled():
            now_ns = time.time_ns()
            start_ns = min(int(due_at.timestamp() * 1e9), now_ns) if due_at else now_ns
            parent = tracing.record_span(
                "ocma.queue", {"ocma.target_id": target_id}, parent=parent, start_ns=start_ns, end_ns=now_ns
            )
        attributes = {"ocma.target_id": target_id, "ocma.request_id": request_id or None}
        with tracing.span("ocma.publish", attributes, parent=parent, kind="consumer"):
            yield
