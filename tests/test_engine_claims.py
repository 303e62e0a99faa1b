"""Claims are never stranded: an escape after the claim gives the target back, heartbeats renew only claims
with a task in flight, and a lost audit row never turns an accepted post into "outcome unknown"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlmodel import select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Notification, PublishAttempt, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import transitions
from ocma_core.engine.budgets import MemoryBudgets
from ocma_core.engine.worker import Worker
from ocma_core.platforms import Capability, RateBudget
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


def _post(ocma: Ocma, workspace_id: str, account_id: str, text: str) -> str:
    data = PostInput(body=text, account_ids=[account_id], action="publish_now")
    return posts.create_post(ocma, workspace_id, data).id


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


class FlakyBudgets(MemoryBudgets):
    """Budgets whose first reservation times out, as a Redis call does under load."""

    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None], lease: str = "") -> float:
        """Raise redis' TimeoutError `failures` times, then reserve as usual."""
        if self.failures:
            self.failures -= 1
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        return super().try_acquire(keys, declared, lease)


def test_redis_timeout_after_claim_puts_the_target_back(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyBudgets()
    monkeypatch.setattr("ocma_core.engine.budgets.make_budgets", lambda *a, **k: flaky)
    post_id = _post(ocma, workspace_id, account_id, "Survives a Redis timeout")
    # The worker lives on (and heartbeats) throughout: before the fix the target stayed `publishing`.
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED, timeout=15)
    target = _target(ocma, post_id)
    assert flaky.failures == 0
    assert target.status is TargetStatus.PUBLISHED and target.claimed_by is None
    assert target.attempts == 2  # the escaped try counts
    assert fake.published_texts() == ["Survives a Redis timeout"]
    assert fake.stats()["publish_calls"] == 1


def test_heartbeat_renews_only_claims_with_a_task_in_flight(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    worker = Worker(ocma, concurrency=1)
    post_id = _post(ocma, workspace_id, account_id, "Orphaned claim")
    target_id = _target(ocma, post_id).id
    # A claim of this worker whose task ended without giving the target back (the stranded case).
    assert transitions.claim(ocma, target_id, worker.runtime.worker_id) is not None
    old = utcnow() - timedelta(minutes=5)
    with ocma.session() as s:
        row = s.get(Target, target_id)
        assert row is not None
        row.claimed_at = old
        s.add(row)
    worker.heartbeat()
    assert _target(ocma, post_id).claimed_at == old  # not renewed: nothing of this worker is working on it
    worker.reconcile()
    recovered = _target(ocma, post_id)
    assert recovered.status is TargetStatus.UNCONFIRMED and recovered.claimed_by is None

    # A claim whose task is in flight is renewed.
    assert transitions.claim(ocma, target_id, worker.runtime.worker_id) is not None
    with ocma.session() as s:
        row = s.get(Target, target_id)
        assert row is not None
        row.claimed_at = old
        s.add(row)
    worker.runtime.track(target_id)
    worker.heartbeat()
    renewed = _target(ocma, post_id)
    assert renewed.claimed_at is not None and renewed.claimed_at > old
    assert renewed.status is TargetStatus.PUBLISHING


def test_failed_audit_write_keeps_the_platforms_answer(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.registry import get_platform

    platform = get_platform("fakesocial")
    # A platform that cannot be asked afterwards: "outcome unknown" would end as failed, and a retry post twice.
    without_lookup = platform.capabilities - {Capability.FIND_PUBLISHED}
    monkeypatch.setattr(platform, "capabilities", without_lookup)
    # The audit row goes in with the target's finish: a failure writing it must not lose the finish.
    real_row = transitions.attempt_row
    lost: list[str] = []

    def attempt_row(attempt: transitions.AttemptRecord) -> dict[str, Any]:
        if attempt.action == "publish" and not lost:
            lost.append(attempt.outcome)
            raise ConnectionError("the database went away while writing the audit row")
        return real_row(attempt)

    monkeypatch.setattr(transitions, "attempt_row", attempt_row)
    post_id = _post(ocma, workspace_id, account_id, "Accepted, audit lost")
    ended = (TargetStatus.PUBLISHED, TargetStatus.FAILED)
    run_worker(ocma, lambda: _target(ocma, post_id).status in ended, timeout=15)
    target = _target(ocma, post_id)
    assert lost == ["ok"]
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert target.external_id and target.attempts == 1
    assert fake.stats()["publish_calls"] == 1
    with ocma.session() as s:
        kinds = {n.kind for n in s.exec(select(Notification))}
        rows = s.exec(select(PublishAttempt).where(PublishAttempt.target_id == target.id))
        outcomes = [a.outcome for a in rows]
    assert "target.unconfirmed" not in kinds
    assert outcomes == ["ok"]  # stored on its own once the finish had gone through without it


def test_reconciler_refills_a_lost_queue_at_once_and_a_few_missing_ids_later(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids popped and not yet claimed are missing from the queue for a moment in every burst: a small shortfall
    waits for SHORTFALL_PUSH_S before the due window is pushed again; a queue that lost most of it is refilled on
    the next round."""
    from ocma_core.engine import worker as worker_module

    ids = [_target(ocma, _post(ocma, workspace_id, account_id, f"Queued {i}")).id for i in range(4)]
    worker = Worker(ocma, concurrency=1)
    clock = [1000.0]
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: clock[0])
    worker.reconcile()  # the first round pushes the window
    assert ocma.queue.depth() == 4
    ocma.queue.pop_due(1)  # popped by someone, not claimed yet
    clock[0] += 1
    worker.reconcile()
    assert ocma.queue.depth() == 3  # a small shortfall: not pushed again yet
    clock[0] += worker_module.SHORTFALL_PUSH_S
    worker.reconcile()
    assert ocma.queue.depth() == 4  # still missing after SHORTFALL_PUSH_S: pushed
    assert sorted(ocma.queue.pop_due(10)) == sorted(ids)  # the queue lost them all
    clock[0] += 1
    worker.reconcile()
    assert ocma.queue.depth() == 4  # refilled at once


class ReleaseFailsOnce(MemoryBudgets):
    """Budgets that do I/O (as Redis ones do) whose first release fails after the publish was stored."""

    blocking = True

    def __init__(self) -> None:
        super().__init__()
        self.releases: list[str] = []
        self.failed = False

    def release(self, keys: list[str], *args: Any, **kwargs: Any) -> None:
        """Fail the first time, then release as usual."""
        if not self.failed:
            self.failed = True
            raise redis.exceptions.TimeoutError("Timeout writing to socket")
        self.releases.append(keys[0])
        super().release(keys, *args, **kwargs)


def test_failed_release_after_the_finish_neither_loses_nor_repeats_the_publish(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread storing the finish releases the budget too; when that release fails, the publish stays
    published once and the attempt's own release gives the reservation back."""
    budgets = ReleaseFailsOnce()
    monkeypatch.setattr("ocma_core.engine.budgets.make_budgets", lambda *a, **k: budgets)
    post_id = _post(ocma, workspace_id, account_id, "Released in the end")
    run_worker(ocma, lambda: bool(budgets.releases), timeout=15)
    target = _target(ocma, post_id)
    assert budgets.failed and len(budgets.releases) == 1
    assert target.status is TargetStatus.PUBLISHED and target.attempts == 1
    assert fake.stats()["publish_calls"] == 1
    assert all(state.in_flight == 0 for state in budgets._state.values())  # nothing left reserved
