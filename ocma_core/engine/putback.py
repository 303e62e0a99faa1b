"""Giving a claimed target back when an unexpected error escapes the publish path.

Whatever escapes after the claim (a Redis timeout in the budget or the queue, a database hiccup, a bug) must
not leave the target in `publishing`: it goes back to the queue, or to `unconfirmed` when a platform call may
have started (then the engine looks before it tries again), or stays `pending` when it was being polled.
If even that write fails, the worker stops renewing the claim (the heartbeat renews only targets with a task
in flight), so stale-claim recovery frees it after the lease.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions

if TYPE_CHECKING:
    from ocma_core.engine.runtime import Runtime

log = logging.getLogger(__name__)
LOOKUP_DELAY = timedelta(seconds=2)


async def put_back(ocma: Ocma, runtime: Runtime, claimed: transitions.Claimed, exc: BaseException) -> str:
    """Move an owned target out of `publishing` after `exc` escaped; returns the outcome's name."""
    target, worker = claimed.target, runtime.worker_id
    log.error("unexpected error on claimed target %s; giving it back", target.id, exc_info=exc)
    message = f"Internal error, tried again: {exc!r}"
    since = None
    if claimed.needs_poll:
        status, due = TargetStatus.PENDING, utcnow() + LOOKUP_DELAY
    elif claimed.call_started is not None or claimed.needs_lookup:
        # The platform may have the post: look before any retry.
        status, due = TargetStatus.UNCONFIRMED, utcnow() + LOOKUP_DELAY
        since = target.unconfirmed_since or claimed.call_started
    elif target.attempts >= runtime.max_attempts:
        return await _give_up(ocma, worker, target.id, target.attempts, message)
    else:
        status, due = TargetStatus.QUEUED, utcnow() + runtime.backoff(target.attempts)
    try:
        await asyncio.to_thread(
            transitions.requeue,
            ocma,
            target.id,
            worker,
            due,
            burn_attempt=True,
            error=message,
            status=status,
            unconfirmed_since=since,
        )
    except Exception:
        log.exception("could not give target %s back; stale-claim recovery will", target.id)
        return "stranded"
    try:
        await asyncio.to_thread(ocma.queue.push, target.id, due)
    except Exception:  # the reconciler re-enqueues it from the database
        log.warning("could not wake the queue for target %s; the reconciler will", target.id)
    return "put_back"


async def _give_up(ocma: Ocma, worker: str, target_id: str, attempts: int, message: str) -> str:
    reason = f"Gave up after {attempts} attempts: {message}"
    try:
        await asyncio.to_thread(
            transitions.finish, ocma, target_id, worker, TargetStatus.FAILED, last_error=reason
        )
    except Exception:
        log.exception("could not mark target %s failed; stale-claim recovery will free it", target_id)
        return "stranded"
    return "failed"
