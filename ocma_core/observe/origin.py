"""Where a target came from: the request id (and trace context) in force when it was created or re-queued.

A SQLAlchemy listener fills `Target.origin`, so every service that creates targets records it without
knowing about it; the worker reads it back before publishing (engine.worker) and logs and traces under it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect

from ocma_core.db.models import Target, TargetStatus
from ocma_core.observe import tracing
from ocma_core.observe.requestid import current_request_id


def current_origin() -> dict[str, str] | None:
    """The request id and W3C traceparent in force, or None when neither is."""
    origin = {"request_id": current_request_id(), "traceparent": tracing.current_traceparent() or ""}
    kept = {k: v for k, v in origin.items() if v}
    return kept or None


def _on_insert(_mapper: Any, _connection: Any, target: Target) -> None:
    if target.origin is None:
        target.origin = current_origin()


def _on_update(_mapper: Any, _connection: Any, target: Target) -> None:
    """A target put back in the queue from a request (retry, reschedule) carries that request's id."""
    history = inspect(target).attrs.status.history
    if history.has_changes() and target.status is TargetStatus.QUEUED:
        origin = current_origin()
        if origin is not None and origin.get("request_id"):
            target.origin = origin


def install() -> None:
    """Register the listeners once per process."""
    if not event.contains(Target, "before_insert", _on_insert):
        event.listen(Target, "before_insert", _on_insert)
        event.listen(Target, "before_update", _on_update)


install()
