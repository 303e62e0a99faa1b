"""Following a post the platform accepted but is still processing (`PublishResult.pending`, e.g. a video).

The target waits as `pending` with its platform id; workers claim it like any due target and ask the
plugin's `check_pending` until the platform says it is out (then: published, with its URL), refuses it
(failed, with the platform's reason) or `PENDING_GIVE_UP` passes. Asking is a read: a timeout or an unknown
outcome is simply asked again later — nothing is ever published twice from here.

A thread that became pending part-way (a part the platform processes before it can be replied to) is asked
about by its last part (`part_ids[-1]`). Once that part is out and parts are still missing, the target turns
unconfirmed: the publisher looks up which parts exist and posts the rest (`continue_thread`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from ocma_core.api.metrics import FAILED, PUBLISHED
from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions
from ocma_core.engine.budgets import Budgets, budget_call, observed_limits, platform_buckets
from ocma_core.engine.calls import recorded_call
from ocma_core.errors import AuthExpired, PlatformError, RateLimited, Rejected
from ocma_core.platforms import AccountContext, Platform, PublishResult

log = logging.getLogger(__name__)
FIRST_POLL = timedelta(seconds=5)
MAX_POLL = timedelta(minutes=5)
RECONNECT_WAIT = timedelta(minutes=15)
PENDING_GIVE_UP = timedelta(hours=24)


def next_poll(polls: int) -> timedelta:
    """5 s, 10 s, 20 s ... at most 5 minutes between two questions."""
    return min(MAX_POLL, FIRST_POLL * (1 << min(max(polls - 1, 0), 16)))


async def hand_back(ocma: Ocma, target_id: str, worker: str, due: datetime, error: str | None) -> str:
    """Back to pending, asked again at `due` (each question counts in `attempts`, which spaces the next)."""
    await asyncio.to_thread(
        transitions.requeue,
        ocma,
        target_id,
        worker,
        due,
        burn_attempt=True,
        error=error,
        status=TargetStatus.PENDING,
    )
    await asyncio.to_thread(ocma.queue.push, target_id, due)
    return "pending"


async def poll(
    ocma: Ocma, worker: str, budgets: Budgets, claimed: transitions.Claimed, platform: Platform
) -> str:
    """Ask the platform once about a pending target and move it on; returns the outcome's name."""
    target, account = claimed.target, claimed.account
    assert target.external_id is not None
    since = target.published_at or target.updated_at
    if utcnow() - since > PENDING_GIVE_UP:
        reason = (
            f"{platform.name} was still processing the post {PENDING_GIVE_UP.total_seconds() / 3600:.0f} h "
            "after accepting it; check it on the platform, then retry or delete it."
        )
        await asyncio.to_thread(
            transitions.finish, ocma, target.id, worker, TargetStatus.FAILED, last_error=reason
        )
        FAILED.labels(platform.name, "pending").inc()
        return "failed"
    keys, declared = platform_buckets(platform, account.id, "check_pending", lambda b: "pending" in b.bucket)
    lease = f"{worker}:{target.id}:poll:{target.attempts}"
    wait = await budget_call(budgets, budgets.try_acquire, keys, declared, lease)
    if wait > 0:
        return await hand_back(ocma, target.id, worker, utcnow() + timedelta(seconds=wait), target.last_error)
    contexts: list[AccountContext] = []
    blocked_until: float | None = None
    try:
        result = await _ask(ocma, claimed, platform, contexts, worker)
    except RateLimited as exc:
        blocked_until = exc.retry_at.timestamp()
        return await hand_back(ocma, target.id, worker, exc.retry_at, f"Rate limited until {exc.retry_at}")
    except Rejected as exc:
        reason = f"{platform.name} could not finish the post: {exc.message}"
        await asyncio.to_thread(
            transitions.finish, ocma, target.id, worker, TargetStatus.FAILED, last_error=reason
        )
        FAILED.labels(platform.name, "rejected").inc()
        return "failed"
    except AuthExpired as exc:  # keep asking once the account is reconnected (never publish again)
        message = f"{platform.name} authorisation expired while the post was processing: {exc.message}"
        return await hand_back(ocma, target.id, worker, utcnow() + RECONNECT_WAIT, message)
    except Exception as exc:  # a read: ask again later
        if not isinstance(exc, PlatformError):
            log.exception("unexpected error asking about pending target %s", target.id)
        return await hand_back(ocma, target.id, worker, utcnow() + next_poll(target.attempts), str(exc))
    finally:
        observed = observed_limits(platform.name, account.id, contexts, "check_pending")
        await budget_call(budgets, budgets.release, keys, declared, observed, blocked_until, lease)
    if result.pending:
        return await hand_back(ocma, target.id, worker, utcnow() + next_poll(target.attempts), None)
    # The part asked about is out under its final id (which may differ from the id it was processed under).
    part_ids = [*target.part_ids[:-1], result.external_id] if len(target.part_ids) > 1 else result.parts_out()
    if len(part_ids) < 1 + len(claimed.post.thread):
        return await _continue_later(ocma, worker, claimed, part_ids)
    ok = await asyncio.to_thread(
        transitions.finish,
        ocma,
        target.id,
        worker,
        TargetStatus.PUBLISHED,
        external_id=part_ids[0],
        part_ids=part_ids,
        url=(result.url or target.url) if len(part_ids) == 1 else target.url,
        published_at=utcnow(),
        last_error=None,
    )
    if ok:
        PUBLISHED.labels(platform.name).inc()
    return "published" if ok else "lost_claim"


async def _continue_later(ocma: Ocma, worker: str, claimed: transitions.Claimed, part_ids: list[str]) -> str:
    """A thread's pending part is out and parts are missing: look up what exists, then post the rest."""
    now = utcnow()
    total = 1 + len(claimed.post.thread)
    await asyncio.to_thread(
        transitions.requeue,
        ocma,
        claimed.target.id,
        worker,
        now,
        burn_attempt=True,
        error=f"Parts 1-{len(part_ids)} of {total} are out; the rest follow after a look-up.",
        unconfirmed_since=now,
        status=TargetStatus.UNCONFIRMED,
        external_id=None,
        part_ids=part_ids,
        attempts=0,  # the polls counted here; the look-up and the rest start a fresh count
    )
    await asyncio.to_thread(ocma.queue.push, claimed.target.id, now)
    return "unconfirmed"


async def _ask(
    ocma: Ocma,
    claimed: transitions.Claimed,
    platform: Platform,
    contexts: list[AccountContext],
    worker: str,
) -> PublishResult:
    # A pending thread lists the parts out so far; the last one is the part still being processed.
    ids = claimed.target.part_ids
    external_id = ids[-1] if ids else claimed.target.external_id
    assert external_id is not None
    ask = lambda ctx: platform.check_pending(ctx, external_id)  # noqa: E731
    if type(platform).check_pending_content is not Platform.check_pending_content:
        from ocma_core.services.posts import content_for

        target, post, account = claimed.target, claimed.post, claimed.account
        content = await asyncio.to_thread(content_for, ocma, post, account, target.id)
        ask = lambda ctx: platform.check_pending_content(ctx, external_id, content)  # noqa: E731
    return await recorded_call(
        ocma,
        platform,
        claimed.account.id,
        ask,
        target_id=claimed.target.id,
        action="check_pending",
        worker=worker,
        summary=f"check_pending {platform.name} {external_id}",
        contexts=contexts,
    )
