"""A target whose account's authorisation is gone: held until a person reconnects the account."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions
from ocma_core.errors import AuthExpired

if TYPE_CHECKING:
    from ocma_core.engine.runtime import Runtime


def _account_status(ocma: Ocma, account_id: str) -> AccountStatus | None:
    with ocma.session() as session:
        account = session.get(Account, account_id)
        return account.status if account else None


async def hold_or_retry(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: str,
    exc: AuthExpired,
    look_from: datetime | None = None,
) -> str:
    """Hold the target (and the account's other targets already due) once the account needs reconnecting;
    while it is still connected (e.g. another worker's refresh took too long) try again after a backoff.

    `look_from` is set when thread parts were already out: the next try looks them up first (it survives
    the hold and the reconnect), so no part is posted twice."""
    from ocma_core.services.held import hold_due_targets

    target, worker = claimed.target, runtime.worker_id
    status = await asyncio.to_thread(_account_status, ocma, claimed.account.id)
    if status is AccountStatus.CONNECTED and target.attempts < runtime.max_attempts:
        due = utcnow() + runtime.backoff(target.attempts)
        await asyncio.to_thread(
            transitions.requeue,
            ocma,
            target.id,
            worker,
            due,
            burn_attempt=True,
            error=exc.message,
            status=TargetStatus.UNCONFIRMED if claimed.needs_lookup or look_from else TargetStatus.QUEUED,
            unconfirmed_since=look_from,
        )
        await asyncio.to_thread(ocma.queue.push, target.id, due)
        return "retry"
    reason = f"{platform} authorisation expired and could not be refreshed: {exc.message}"
    values = {"unconfirmed_since": look_from} if look_from else {}
    await asyncio.to_thread(
        transitions.finish, ocma, target.id, worker, TargetStatus.HELD, last_error=reason, **values
    )
    await asyncio.to_thread(hold_due_targets, ocma, claimed.account.id, reason)
    return "held"
