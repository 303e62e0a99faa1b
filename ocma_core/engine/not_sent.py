"""A failure on OCMA's side before a platform was called: retried, held or failed, never "unconfirmed"."""

from __future__ import annotations

import asyncio

from ocma_core.api.metrics import FAILED
from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions
from ocma_core.engine.runtime import Runtime, back_status
from ocma_core.errors import NotSent
from ocma_core.platforms import Platform


async def not_sent(
    ocma: Ocma, runtime: Runtime, claimed: transitions.Claimed, platform: Platform, exc: NotSent
) -> str:
    """A failure on this side before the platform was called: say so, never call it unconfirmed."""
    target, worker = claimed.target, runtime.worker_id
    if exc.retryable and target.attempts < runtime.max_attempts:
        due = utcnow() + runtime.backoff(target.attempts)
        await asyncio.to_thread(
            transitions.requeue,
            ocma,
            target.id,
            worker,
            due,
            burn_attempt=True,
            error=f"Not sent (will retry): {exc.message}",
            status=back_status(claimed.needs_lookup),
        )
        await asyncio.to_thread(ocma.queue.push, target.id, due)
        return "retry"
    earlier = (
        " An earlier attempt's outcome is still unknown: OCMA asks the platform before publishing again."
        if claimed.needs_lookup
        else ""
    )
    if exc.unreadable or claimed.needs_lookup:
        then = "Then run `ocma posts retry`" + (
            " (reconnecting the account releases it too)." if exc.unreadable else "."
        )
        reason = f"Not sent: {exc} {then}{earlier}"
        await asyncio.to_thread(
            transitions.finish,
            ocma,
            target.id,
            worker,
            TargetStatus.HELD,
            last_error=reason,
            attempts=target.attempts - 1,
        )
        return "held"
    await asyncio.to_thread(
        transitions.finish, ocma, target.id, worker, TargetStatus.FAILED, last_error=f"Not sent: {exc}"
    )
    FAILED.labels(platform.name, "not_sent").inc()
    return "failed"
