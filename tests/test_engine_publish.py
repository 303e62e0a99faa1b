"""The publishing engine against FakeSocial: on time, exactly once, and every failure path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import (
    Account,
    AccountStatus,
    Notification,
    PostStatus,
    PublishAttempt,
    Target,
    TargetStatus,
)
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import update_settings


def _post(ocma: Ocma, workspace_id: str, account_id: str, text: str, **kw: Any) -> str:
    data = PostInput(body=text, account_ids=[account_id], action=kw.pop("action", "publish_now"), **kw)
    return posts.create_post(ocma, workspace_id, data).id


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


def _done(ocma: Ocma, post_id: str) -> bool:
    return _target(ocma, post_id).status in (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)


def test_publish_now_publishes_once_with_url(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = _post(ocma, workspace_id, account_id, "Hello engine")
    run_worker(ocma, lambda: _done(ocma, post_id))
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.PUBLISHED
    assert target.url and target.external_id
    assert fake.published_texts() == ["Hello engine"]
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED
    with ocma.session() as s:
        kinds = [n.kind for n in s.exec(select(Notification))]
    assert "post.published" in kinds and "post.scheduled" in kinds


def test_scheduled_post_waits_until_due(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> None:
    when = utcnow() + timedelta(seconds=1.5)
    post_id = _post(ocma, workspace_id, account_id, "Later", action="schedule", scheduled_at=when)
    run_worker(ocma, lambda: _done(ocma, post_id))
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.PUBLISHED and fake.published_texts() == ["Later"]
    with ocma.session() as s:
        calls = s.exec(select(PublishAttempt).where(PublishAttempt.target_id == target.id)).all()
    assert calls and all(c.started_at >= when for c in calls)  # the platform was not called before its time
    assert target.published_at is not None and target.published_at >= when  # lateness: benchmarks/


def test_timeout_after_store_is_resolved_without_duplicate(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: Any
) -> None:
    from ocma_core.registry import get_platform

    monkeypatch.setattr(get_platform("fakesocial"), "request_timeout_s", 0.5)
    fake.fail_next("timeout_after_store")
    post_id = _post(ocma, workspace_id, account_id, "Exactly once")
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED, timeout=20)
    assert fake.published_texts() == ["Exactly once"]
    assert fake.stats()["publish_calls"] == 1
    with ocma.session() as s:
        actions = [
            (a.action, a.outcome) for a in s.exec(select(PublishAttempt).order_by(PublishAttempt.started_at))
        ]
        kinds = {n.kind for n in s.exec(select(Notification))}
    assert actions[0] == ("publish", "Unconfirmed")
    assert ("find_published", "ok") in actions
    assert "target.unconfirmed" in kinds


def test_rate_limit_waits_without_burning_attempts(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.fail_next("rate_limit", retry_after_s=1.0)
    post_id = _post(ocma, workspace_id, account_id, "After the limit")
    start = utcnow()
    run_worker(ocma, lambda: _done(ocma, post_id), timeout=60)
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.PUBLISHED
    assert target.attempts == 1  # the 429 did not count
    assert (target.published_at - start).total_seconds() >= 0.9  # type: ignore[operator]


def test_transient_errors_retry_with_backoff_then_fail(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.fail_next("server_error")
    post_id = _post(ocma, workspace_id, account_id, "Second time lucky")
    run_worker(
        ocma,
        lambda: _done(ocma, post_id),
        timeout=60,
    )
    assert _target(ocma, post_id).status is TargetStatus.PUBLISHED
    assert _target(ocma, post_id).attempts == 2

    ocma.settings.publish_max_attempts = 2
    for _ in range(5):
        fake.fail_next("server_error")
    post_id = _post(ocma, workspace_id, account_id, "Never lucky")
    run_worker(ocma, lambda: _done(ocma, post_id), timeout=20)
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.FAILED
    assert "Gave up after 2 attempts" in (target.last_error or "")
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.FAILED


def test_rejected_fails_at_once_with_reason(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.fail_next("duplicate")
    post_id = _post(ocma, workspace_id, account_id, "Said that already")
    run_worker(ocma, lambda: _done(ocma, post_id))
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.FAILED and target.attempts == 1
    assert "This status is a duplicate." in (target.last_error or "")
    with ocma.session() as s:
        failed = [n for n in s.exec(select(Notification)) if n.kind == "post.failed"]
    assert len(failed) == 1 and "duplicate" in failed[0].payload["reason"]
    posts.retry_post(ocma, workspace_id, post_id)  # after a fix, a failed post can be retried
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED)
    assert fake.published_texts() == ["Said that already"]


def test_over_long_post_is_refused_before_scheduling(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    import pytest

    from ocma_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        _post(ocma, workspace_id, account_id, "y" * 501)
    assert info.value.problems[0]["code"] == "too_long"
    assert "501 characters" in info.value.problems[0]["message"]
    assert posts.list_posts(ocma, workspace_id) == []  # nothing half-written


def test_expired_token_is_refreshed_and_rotation_persisted(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    with ocma.session() as s:
        before = s.get(Account, account_id)
        assert before is not None
        old_refresh = ocma.vault.decrypt(before.refresh_token_enc or "")
    fake.expire_tokens()
    post_id = _post(ocma, workspace_id, account_id, "After refresh")
    run_worker(ocma, lambda: _done(ocma, post_id))
    assert _target(ocma, post_id).status is TargetStatus.PUBLISHED
    with ocma.session() as s:
        after = s.get(Account, account_id)
        assert after is not None
        assert after.token_version == 1
        assert ocma.vault.decrypt(after.refresh_token_enc or "") != old_refresh


def test_refresh_failure_holds_targets_and_asks_to_reconnect(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.expire_tokens()
    with fake.lock:
        fake.state.refresh.clear()  # the refresh token was revoked
    post_id = _post(ocma, workspace_id, account_id, "Cannot go out")
    run_worker(ocma, lambda: _done(ocma, post_id))
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.HELD
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None and account.status is AccountStatus.NEEDS_RECONNECT
        kinds = [n.kind for n in s.exec(select(Notification))]
    assert kinds.count("account.needs_reconnect") == 1
    assert [f[0].id for f in posts.failed_targets(ocma, workspace_id)] == [target.id]


def test_two_workers_never_publish_twice(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> None:
    ids = [_post(ocma, workspace_id, account_id, f"Parallel {i}") for i in range(30)]
    run_worker(ocma, lambda: all(_done(ocma, i) for i in ids), workers=3, concurrency=8, timeout=30)
    stats = fake.stats()
    assert stats["posts"] == 30 and stats["duplicates"] == 0 and stats["publish_calls"] == 30


def test_lost_queue_is_refilled_from_database(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = _post(ocma, workspace_id, account_id, "Survives a lost queue")
    ocma.queue.clear()  # type: ignore[attr-defined]
    run_worker(ocma, lambda: _done(ocma, post_id), timeout=60)
    assert _target(ocma, post_id).status is TargetStatus.PUBLISHED


def test_dead_worker_claim_is_looked_up_before_retry(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    from ocma_core.engine import transitions

    post_id = _post(ocma, workspace_id, account_id, "Worker died mid-call")
    target = _target(ocma, post_id)
    claimed = transitions.claim(ocma, target.id, "dead-worker")
    assert claimed is not None
    # the dead worker's request reached the platform before it died
    fake.state.posts["1"] = {
        "id": "1",
        "author": "1001",
        "text": "Worker died mid-call",
        "reply_to": None,
        "media_ids": [],
        "created_at": utcnow().timestamp(),
        "metrics": {},
    }
    with ocma.session() as s:
        row = s.get(Target, target.id)
        assert row is not None
        row.claimed_at = utcnow() - timedelta(minutes=5)
        s.add(row)
    run_worker(ocma, lambda: _done(ocma, post_id), timeout=60)
    done = _target(ocma, post_id)
    assert done.status is TargetStatus.PUBLISHED and done.external_id == "1"
    assert fake.stats()["publish_calls"] == 0


def test_recurring_post_spawns_next_occurrence(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    when = utcnow() + timedelta(seconds=1)
    post_id = _post(
        ocma,
        workspace_id,
        account_id,
        "Every two days",
        action="schedule",
        scheduled_at=when,
        recurrence={"every_days": 2, "count": 2},
    )
    run_worker(ocma, lambda: _done(ocma, post_id))
    series = sorted(posts.list_posts(ocma, workspace_id), key=lambda p: p.created_at)
    assert len(series) == 2
    nxt = series[1]
    assert nxt.parent_id == post_id and nxt.status is PostStatus.SCHEDULED
    assert nxt.scheduled_at is not None
    local = nxt.scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    first = when.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert (local.date() - first.date()).days == 2 and (local.hour, local.minute) == (
        first.hour,
        first.minute,
    )
    assert _target(ocma, nxt.id).status is TargetStatus.QUEUED


def test_approval_required_holds_until_approved(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    from ocma_core.services.workspaces import update_settings

    update_settings(ocma, workspace_id, approval_required=True)
    post_id = _post(ocma, workspace_id, account_id, "Needs a yes")
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PENDING_APPROVAL
    run_worker(ocma, lambda: False, timeout=1.5)
    assert fake.published_texts() == []
    posts.approve_post(ocma, workspace_id, post_id)
    run_worker(ocma, lambda: _done(ocma, post_id))
    assert fake.published_texts() == ["Needs a yes"]


def test_rate_budget_avoids_429(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> None:
    fake.rate_limit, fake.rate_window_s = 5, 2.0
    ids = [_post(ocma, workspace_id, account_id, f"Budgeted {i}") for i in range(12)]
    run_worker(ocma, lambda: all(_done(ocma, i) for i in ids), concurrency=16, timeout=30)
    stats = fake.stats()
    assert stats["posts"] == 12 and stats["http_429"] == 0


def test_worker_collects_metrics_in_the_background(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    from ocma_core.db.models import AccountMetricSnapshot

    ocma.settings.metrics_interval_s = 0.2

    def collected() -> bool:
        with ocma.session() as s:
            return s.exec(select(AccountMetricSnapshot)).first() is not None

    run_worker(ocma, collected, timeout=60)
    with ocma.session() as s:
        snapshot = s.exec(select(AccountMetricSnapshot)).first()
    assert snapshot is not None and snapshot.values.get("followers") == 42.0  # as the platform reported it


def test_best_time_action_without_a_measured_effect_uses_the_queue(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    # no posts measured: no best time is claimed, the queue's next free slot is used instead
    update_settings(ocma, workspace_id, queue_slots={"weekdays": [], "times": ["09:00"]})
    post_id = _post(ocma, workspace_id, account_id, "At the best time", action="best_time")
    post = posts.get_post(ocma, workspace_id, post_id)
    assert post.status is PostStatus.SCHEDULED and post.scheduled_at is not None
    assert post.scheduled_at > utcnow() and post.scheduled_at.minute == 0  # the start of an hour-of-week slot
