"""Publishing one target exactly once: claim, look before retrying, respect budgets, classify failures."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ocma_core.api.metrics import FAILED, LATENESS, PUBLISHED
from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import outcomes, threads, transitions
from ocma_core.engine.budgets import (
    answered,
    budget_call,
    observed_limits,
    platform_buckets,
)
from ocma_core.engine.calls import recorded_call
from ocma_core.engine.handoff import FINISHES
from ocma_core.engine.not_sent import not_sent
from ocma_core.engine.runtime import (
    INLINE_WAIT_S,
    RELEASE,
    HostSlot,
    Release,
    Runtime,
    back_status,
    calls_over,
    holding,
)
from ocma_core.errors import (
    AuthExpired,
    NotSent,
    OcmaError,
    PlatformError,
    RateLimited,
    Rejected,
    SecretUnreadable,
    Transient,
    Unconfirmed,
)
from ocma_core.observe import work
from ocma_core.platforms import (
    AccountContext,
    Capability,
    Platform,
    PostContent,
    PublishResult,
)
from ocma_core.registry import get_platform

log = logging.getLogger(__name__)
T = TypeVar("T")
LOOKUP_DELAY = timedelta(seconds=2)
LOOKUP_MARGIN = timedelta(seconds=60)
HOST_BUSY_DELAY = timedelta(seconds=1)


class _LostClaim(Exception):
    """This worker no longer owns the target (its claim was recovered as stale)."""


async def process_target(ocma: Ocma, runtime: Runtime, target_id: str) -> str:
    """Publish one due target if this worker can claim it; returns the outcome's name."""
    claimed = await asyncio.to_thread(transitions.claim, ocma, target_id, runtime.worker_id)
    if claimed is None:
        return "skipped"
    with work.publishing(target_id, claimed.target.origin or {}, claimed.target.due_at):
        return await publish_claimed(ocma, runtime, claimed)


async def publish_claimed(ocma: Ocma, runtime: Runtime, claimed: transitions.Claimed) -> str:
    """Publish a target this worker has just claimed (transitions.claim_many); returns the outcome's name.

    The caller binds the target's request id and trace (observe.work.publishing) around it."""
    target_id = claimed.target.id
    runtime.track(target_id)
    audit: list[
        transitions.AttemptRecord
    ] = []  # the calls' audit rows, stored with the target's next state change
    token = transitions.AUDIT.set(audit)
    try:
        return await _process_claimed(ocma, runtime, claimed)
    except Exception as exc:  # whatever escapes after the claim gives the target back
        from ocma_core.engine.putback import put_back

        return await put_back(ocma, runtime, claimed, exc)
    finally:
        transitions.AUDIT.reset(token)
        runtime.untrack(target_id)
        runtime.sent(target_id)  # ended without a call (deferred, not sent, polled): no longer waiting
        await _store_left_audit(ocma, audit)


async def _store_left_audit(ocma: Ocma, audit: list[transitions.AttemptRecord]) -> None:
    """Audit rows no state change took (a lost claim, a hand-back): stored on their own."""
    for attempt in audit:
        try:
            await asyncio.to_thread(transitions.add_attempt, ocma, attempt)
        except Exception:
            # The platform's answer is the fact: a lost audit row must not turn it into "outcome unknown".
            log.exception("could not record the %s attempt of target %s", attempt.action, attempt.target_id)


async def _process_claimed(ocma: Ocma, runtime: Runtime, claimed: transitions.Claimed) -> str:
    target, post, account = claimed.target, claimed.post, claimed.account
    worker = runtime.worker_id
    if claimed.needs_poll:
        from ocma_core.engine import pending

        try:
            platform = get_platform(target.platform)
        except OcmaError as exc:  # the plugin is gone: keep the target pending until it is back
            return await pending.hand_back(ocma, target.id, worker, utcnow() + pending.MAX_POLL, str(exc))
        return await pending.poll(ocma, worker, runtime.budgets, claimed, platform)
    try:
        platform = get_platform(target.platform)
        from ocma_core.services.posts import content_for

        if post.media_ids:  # media are read from the database: off the event loop
            content = await asyncio.to_thread(content_for, ocma, post, account, target.id)
        else:  # text only: pure Python, cheaper than a hand-off to a thread
            content = content_for(ocma, post, account, target.id)
    except OcmaError as exc:  # e.g. the platform's plugin is not installed: nothing was sent
        await asyncio.to_thread(
            transitions.finish, ocma, target.id, worker, TargetStatus.FAILED, last_error=f"Not sent: {exc}"
        )
        FAILED.labels(target.platform, "not_sent").inc()
        return "failed"

    return await _within_budget(ocma, runtime, claimed, platform, content)


async def _on_host(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    content: PostContent,
    contexts: list[AccountContext],
    started: datetime,
) -> str:
    """The attempt in one of the host's call slots, taken once the budget is reserved: a task waiting for its
    account's budget (a probe in flight) never holds a slot that another account's call could use.

    A host whose calls all hang keeps only its own slots: the target waits on the queue, not in a worker slot."""
    host = platform.host_of(claimed.account.settings)
    sem = await runtime.host_slot(platform, host)
    runtime.sent(claimed.target.id)
    if sem is None:
        return await _defer(ocma, claimed, runtime.worker_id, utcnow() + HOST_BUSY_DELAY)
    with holding(HostSlot(runtime, platform, host, sem)):  # the outcome's writes give it back first
        return await _attempt(ocma, runtime, claimed, platform, content, contexts, started)


async def _within_budget(
    ocma: Ocma, runtime: Runtime, claimed: transitions.Claimed, platform: Platform, content: PostContent
) -> str:
    target, account, worker = claimed.target, claimed.account, runtime.worker_id
    keys, declared = platform_buckets(platform, account.id, "publish")
    lease = f"{worker}:{target.id}:{target.attempts}"
    deadline, pause = time.monotonic() + INLINE_WAIT_S, 0.0
    while (
        wait := await budget_call(runtime.budgets, runtime.budgets.try_acquire, keys, declared, lease)
    ) > 0:
        now = time.monotonic()
        if now + wait > deadline:
            return await _defer(ocma, claimed, worker, utcnow() + timedelta(seconds=max(wait, INLINE_WAIT_S)))
        # Asked again after waits that double (a probe in flight answers in a call's time): a burst of publishes
        # of one account does not ask Redis every PROBE_WAIT_S each meanwhile.
        pause = min(max(wait, pause * 2), deadline - now)
        await asyncio.sleep(pause)

    contexts: list[AccountContext] = []
    blocked_until: float | None = None
    started = utcnow()

    def release() -> None:
        runtime.budgets.release(
            keys,
            declared,
            observed_limits(platform.name, account.id, contexts, "publish"),
            blocked_until,
            lease,
            answered=not claimed.unanswered,
            spent=bool(contexts),
        )

    # Budgets that do I/O are released by the thread that stores a publish's finish (one hand-off, not two).
    early = Release(release) if getattr(runtime.budgets, "blocking", False) else None
    token = RELEASE.set(early)
    try:
        outcome = await _on_host(ocma, runtime, claimed, platform, content, contexts, started)
    except RateLimited as exc:
        blocked_until = exc.retry_at.timestamp()
        outcome = "rate_limited"
    finally:
        RELEASE.reset(token)
        if early is None or early.take():
            await budget_call(runtime.budgets, release)
    return outcome


async def _defer(ocma: Ocma, claimed: transitions.Claimed, worker: str, due: datetime) -> str:
    """Back to the queue for `due` without a platform call (it does not count as an attempt)."""
    await asyncio.to_thread(
        transitions.requeue,
        ocma,
        claimed.target.id,
        worker,
        due,
        burn_attempt=False,
        error=None,
        status=back_status(claimed.needs_lookup),
    )
    await asyncio.to_thread(ocma.queue.push, claimed.target.id, due)
    return "deferred"


def _look_from(since: datetime | None, started: datetime, exc: PlatformError) -> datetime | None:
    """When thread parts were out at the failure, the next try looks them up first (from this time)."""
    return (since or started) if exc.parts_out else None


def _out_note(exc: PlatformError) -> str:
    if not exc.parts_out:
        return ""
    return f" ({len(exc.parts_out)} thread part(s) already out; the next try continues after them.)"


async def _attempt(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    content: PostContent,
    contexts: list[AccountContext],
    started: datetime,
) -> str:
    """One attempt at a claimed target: look up an unknown outcome first, else publish; returns the outcome."""
    target = claimed.target
    call = _guarded_call(ocma, runtime, claimed, platform, content, contexts)
    if claimed.needs_lookup and target.attempts > runtime.max_attempts * 2:
        reason = (
            f"The outcome is still unknown after {target.attempts} tries to ask {platform.name}; "
            "check the account, then retry if the post is not there."
        )
        return await outcomes.fail(ocma, runtime.worker_id, target.id, platform.name, "unconfirmed", reason)
    look = claimed.needs_lookup and not threads.republish_is_safe(platform, target.unconfirmed_since, started)
    try:
        if look:
            done = await _look_up_first(ocma, runtime, claimed, platform, content, call, started)
            if done is not None:
                return done
        result = await call("publish", lambda ctx: platform.publish(ctx, content))
        return await _published(ocma, runtime, claimed, platform, content, result)
    except Exception as exc:
        return await _after_failure(ocma, runtime, claimed, platform, exc, started)


# What _guarded_call returns: call(action, fn) runs fn(ctx) against the platform for this attempt.
_PlatformCall = Callable[[str, Callable[[AccountContext], Awaitable[Any]]], Awaitable[Any]]


def _guarded_call(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    content: PostContent,
    contexts: list[AccountContext],
) -> _PlatformCall:
    """The platform call of this attempt: fenced by the claim, recorded, its failure classified."""
    target, account, worker = claimed.target, claimed.account, runtime.worker_id

    async def call(action: str, fn: Callable[[AccountContext], Awaitable[Any]]) -> Any:
        # Fencing: a claim older than a third of the lease is renewed first, so no other worker can take it
        # over (and look it up, then publish) while this call is in flight.
        if time.monotonic() - claimed.claimed_mono > runtime.claim_lease_s / 3:
            if not await asyncio.to_thread(transitions.renew, ocma, target.id, worker):
                raise _LostClaim(target.id)
            claimed.claimed_mono = time.monotonic()
        log.debug("target %s: %s starts (attempt %s)", target.id, action, target.attempts)
        first_call = claimed.call_started is None
        claimed.call_started = claimed.call_started or utcnow()
        summary = (
            f"{action} {platform.name} {len(content.text)} chars, {len(content.media)} media, "
            f"{len(content.thread)} thread parts"
        )
        # Only the calls that spend the publish bucket teach it: a look-up is a read, so its context (and any
        # read-limit headers on it) stays out of `contexts`, and an attempt that only looked up spends nothing.
        used = contexts if action != "find_published" else []
        invoked_before = len(used)  # recorded_call appends a context when it calls the platform method
        try:
            result = await recorded_call(
                ocma,
                platform,
                account.id,
                fn,
                target_id=target.id,
                action=action,
                worker=worker,
                summary=summary,
                contexts=used,
                account=account,
            )
        except PlatformError as exc:
            claimed.unanswered = not answered(exc)
            raise
        except OcmaError as exc:  # a local failure: unreadable tokens, missing configuration
            claimed.unanswered = True  # nothing was sent: the budgets learn nothing
            claimed.call_started = None if first_call else claimed.call_started
            raise NotSent(str(exc), unreadable=isinstance(exc, SecretUnreadable)) from exc
        except Exception as exc:
            claimed.unanswered = True
            if len(used) == invoked_before:  # failed before the platform method ran (e.g. database)
                claimed.call_started = None if first_call else claimed.call_started
                raise NotSent(f"{exc!r}", retryable=True) from exc
            raise
        claimed.unanswered = False
        return result

    return call


async def _look_up_first(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    content: PostContent,
    call: _PlatformCall,
    started: datetime,
) -> str | None:
    """Ask the platform whether an unconfirmed call landed; the outcome, or None to publish afresh."""
    target, unknown = (
        claimed.target,
        f"The outcome of the last call is unknown and {platform.name} cannot be asked",
    )
    if Capability.FIND_PUBLISHED not in platform.capabilities:
        reason = f"{unknown}; check the account, then retry if the post is not there."
        return await outcomes.fail(ocma, runtime.worker_id, target.id, platform.name, "unconfirmed", reason)
    since = (target.unconfirmed_since or started) - LOOKUP_MARGIN
    try:
        found = threads.as_found(
            await call("find_published", lambda ctx: platform.find_published(ctx, content, since))
        )
    except Rejected as exc:  # the platform cannot tell us (e.g. a scope the app lacks)
        reason = f"{unknown}: {exc.message} Check the account, then retry if the post is not there."
        return await outcomes.fail(ocma, runtime.worker_id, target.id, platform.name, "unconfirmed", reason)
    if found is not None and found.complete(content):
        return await _published(ocma, runtime, claimed, platform, content, found.as_result())
    if found is not None:  # a thread whose reply was lost: post the parts after the last found
        hit = found
        result = await call("continue_thread", lambda ctx: platform.continue_thread(ctx, content, hit))
        return await _published(ocma, runtime, claimed, platform, content, result)
    return None


async def _after_failure(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    exc: Exception,
    started: datetime,
) -> str:
    """What a failed attempt leads to, by the failure's type (a RateLimited is re-raised after requeueing)."""
    calls_over()
    target, worker = claimed.target, runtime.worker_id
    if isinstance(exc, RateLimited):
        await outcomes.requeue(
            ocma, worker, target.id, exc.retry_at, burn_attempt=False,
            error=f"Rate limited until {exc.retry_at.isoformat()}{_out_note(exc)}",
            status=back_status(claimed.needs_lookup or bool(exc.parts_out)),
            unconfirmed_since=_look_from(target.unconfirmed_since, started, exc),
        )  # fmt: skip
        raise exc
    if isinstance(exc, AuthExpired):
        from ocma_core.engine.holding import hold_or_retry

        since = _look_from(target.unconfirmed_since, started, exc)
        return await hold_or_retry(ocma, runtime, claimed, platform.name, exc, since)
    if isinstance(exc, Rejected):
        reason = f"{platform.name} rejected the post: {exc.message}"
        return await outcomes.fail(ocma, worker, target.id, platform.name, "rejected", reason)
    if isinstance(exc, Transient):
        return await _after_transient(ocma, runtime, claimed, platform, exc, started)
    if isinstance(exc, _LostClaim):
        log.warning("claim on target %s was taken over; not calling the platform", target.id)
        return "lost_claim"
    if isinstance(exc, NotSent):
        return await not_sent(ocma, runtime, claimed, platform, exc)
    # The call may have landed (timeout, broken connection, or a bug after sending): never retry blindly.
    message = exc.message if isinstance(exc, Unconfirmed) else f"Unexpected error: {exc!r}"
    if not isinstance(exc, Unconfirmed):
        log.error("unexpected error publishing target %s", target.id, exc_info=exc)
    await outcomes.requeue(
        ocma, worker, target.id, utcnow() + LOOKUP_DELAY, burn_attempt=True, error=message,
        unconfirmed_since=target.unconfirmed_since or started, status=TargetStatus.UNCONFIRMED,
    )  # fmt: skip
    return "unconfirmed"


async def _after_transient(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    exc: Transient,
    started: datetime,
) -> str:
    """A failure known not to have landed: retry after the publish backoff, or give up after max attempts."""
    target, worker = claimed.target, runtime.worker_id
    if target.attempts >= runtime.max_attempts:
        reason = f"Gave up after {target.attempts} attempts: {exc.message}{_out_note(exc)}"
        return await outcomes.fail(ocma, worker, target.id, platform.name, "transient", reason)
    await outcomes.requeue(
        ocma, worker, target.id, utcnow() + runtime.backoff(target.attempts), burn_attempt=True,
        error=exc.message + _out_note(exc),
        status=back_status(claimed.needs_lookup or bool(exc.parts_out)),
        unconfirmed_since=_look_from(target.unconfirmed_since, started, exc),
    )  # fmt: skip
    return "retry"


async def _published(
    ocma: Ocma,
    runtime: Runtime,
    claimed: transitions.Claimed,
    platform: Platform,
    content: PostContent,
    result: PublishResult,
) -> str:
    calls_over()
    target = claimed.target
    now = utcnow()
    reason = None if result.pending else threads.shortfall(content, result)
    if reason is not None:  # a thread is published whole or not at all: look, then post what is missing
        log.warning("target %s: %s returned %s", target.id, platform.name, reason)
        return await _partial(ocma, runtime, claimed, reason, now)
    values: dict[str, object] = {}
    if result.pending:  # accepted, still processing: workers ask `check_pending` from FIRST_POLL on
        from ocma_core.engine.pending import FIRST_POLL

        values = {"due_at": now + FIRST_POLL, "attempts": 0}
    release = RELEASE.get()

    def finish() -> bool:
        done = transitions.finish(
            ocma,
            target.id,
            runtime.worker_id,
            TargetStatus.PENDING if result.pending else TargetStatus.PUBLISHED,
            external_id=result.external_id,
            part_ids=result.parts_out(),
            url=result.url,
            published_at=now,
            last_error=None,
            unconfirmed_since=None,
            **values,
        )
        if release is not None:
            release.run_quietly()
        return done

    ok = await FINISHES.run(finish, even_if_cancelled=True)  # the platform's answer must be stored
    if ok and result.pending:
        await asyncio.to_thread(ocma.queue.push, target.id, now + FIRST_POLL)
        return "pending"
    if ok:
        PUBLISHED.labels(platform.name).inc()
        if target.due_at is not None:
            LATENESS.labels(platform.name).observe(max((now - target.due_at).total_seconds(), 0.0))
    return "published" if ok else "lost_claim"


async def _partial(
    ocma: Ocma, runtime: Runtime, claimed: transitions.Claimed, reason: str, now: datetime
) -> str:
    """A result with thread parts missing: unconfirmed, so the next try looks up and continues."""
    target = claimed.target
    due = now + LOOKUP_DELAY
    await asyncio.to_thread(
        transitions.requeue,
        ocma,
        target.id,
        runtime.worker_id,
        due,
        burn_attempt=True,
        error=reason,
        unconfirmed_since=target.unconfirmed_since or now,
        status=TargetStatus.UNCONFIRMED,
    )
    await asyncio.to_thread(ocma.queue.push, target.id, due)
    return "unconfirmed"
