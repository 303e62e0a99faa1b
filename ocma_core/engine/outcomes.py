"""The ways a publish attempt ends for a target, each one named: failed for good, or back in the queue."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocma_core.api.metrics import FAILED
from ocma_core.db.models import TargetStatus
from ocma_core.engine import transitions
from ocma_core.engine.runtime import calls_over

if TYPE_CHECKING:
    from ocma_core.context import Ocma


async def fail(ocma: Ocma, worker: str, target_id: str, platform: str, kind: str, reason: str) -> str:
    """Finish the target as failed with `reason`, count it under `kind`; returns "failed"."""
    calls_over()
    await asyncio.to_thread(
        transitions.finish, ocma, target_id, worker, TargetStatus.FAILED, last_error=reason
    )
    FAILED.labels(platform, kind).inc()
    return "failed"


async def requeue(ocma: Ocma, worker: str, target_id: str, due: datetime, **values: Any) -> None:
    """Put the target back in the queue for `due` (values: burn_attempt, error, status, unconfirmed_since)."""
    calls_over()
    await asyncio.to_thread(transitions.requeue, ocma, target_id, worker, due, **values)
    await asyncio.to_thread(ocma.queue.push, target_id, due)  # Redis: off the event loop
