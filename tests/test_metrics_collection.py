"""Collecting metrics from FakeSocial: the decaying cadence, rate limits, refresh, webhooks and backfill."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from tests_support import run_worker

from ocma_core.analytics.pointers import POST_CADENCE
from ocma_core.context import Ocma
from ocma_core.db.analytics_models import MetricSchedule
from ocma_core.db.models import AccountMetricSnapshot, PostMetricSnapshot, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine.budgets import MemoryBudgets
from ocma_core.platforms import MetricsSnapshot, WebhookEvent
from ocma_core.services import metrics, posts
from ocma_core.services.post_input import PostInput


def publish(ocma: Ocma, workspace_id: str, account_id: str, texts: list[str], age: timedelta) -> list[Target]:
    """Publish through the engine, then date the targets `age` back (as if published that long ago)."""
    ids = [
        posts.create_post(
            ocma, workspace_id, PostInput(body=t, account_ids=[account_id], action="publish_now")
        ).id
        for t in texts
    ]
    run_worker(ocma, lambda: all(posts.targets_of(ocma, i)[0].status is TargetStatus.PUBLISHED for i in ids))
    out = []
    with ocma.session() as session:
        for post_id in ids:
            target = session.exec(select(Target).where(col(Target.post_id) == post_id)).one()
            target.published_at = utcnow() - age
            session.add(target)
            out.append(target)
        session.flush()
        for t in out:
            session.expunge(t)
    return out


def snapshots(ocma: Ocma) -> list[PostMetricSnapshot]:
    with ocma.session() as session:
        rows = list(session.exec(select(PostMetricSnapshot).order_by(col(PostMetricSnapshot.fetched_at))))
        for row in rows:
            session.expunge(row)
        return rows


def schedule(ocma: Ocma, ref_id: str) -> MetricSchedule:
    with ocma.session() as session:
        row = session.exec(select(MetricSchedule).where(col(MetricSchedule.ref_id) == ref_id)).one()
        session.expunge(row)
        return row


def test_post_and_account_metrics_follow_the_decaying_cadence(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    targets = publish(ocma, workspace_id, account_id, ["First", "Second"], age=timedelta(days=2))
    fake.set_metrics(targets[0].external_id, likes=12, reposts=3, replies=2, impressions=900)
    fake.set_followers(1234)
    stored = asyncio.run(metrics.collect_due(ocma, 50))
    assert stored == 3  # two posts (their 24 h collection is overdue) and the account
    snaps = {s.target_id: s for s in snapshots(ocma)}
    assert snaps[targets[0].id].values == {
        "likes": 12.0,
        "reposts": 3.0,
        "replies": 2.0,
        "impressions": 900.0,
    }
    assert snaps[targets[0].id].source == "poll" and snaps[targets[0].id].platform == "fakesocial"
    with ocma.session() as session:
        account_snap = session.exec(select(AccountMetricSnapshot)).one()
    assert account_snap.values["followers"] == 1234.0
    row = schedule(ocma, targets[0].id)
    assert row.step == POST_CADENCE.index(timedelta(days=3)) and row.next_due_at is not None  # next: 3 days
    published_at = targets[0].published_at
    assert published_at is not None
    assert published_at + timedelta(days=3) <= row.next_due_at <= utcnow() + timedelta(days=3)
    assert asyncio.run(metrics.collect_due(ocma, 50)) == 0  # nothing else is due yet
    assert len(fake.requests_to("GET", r"/v1/posts/\d+/metrics")) == 2


def test_a_new_post_is_first_due_ten_minutes_after_publishing(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    (target,) = publish(ocma, workspace_id, account_id, ["Fresh"], age=timedelta(minutes=5))
    metrics.sync_schedule(ocma)
    row = schedule(ocma, target.id)
    assert row.step == 0 and row.next_due_at == target.published_at + timedelta(minutes=10)
    done = (len(POST_CADENCE), None)
    assert metrics.next_post_due(target.published_at, utcnow() + timedelta(days=40)) == done  # type: ignore[arg-type]


def test_one_round_schedules_fresh_and_older_posts_alike(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    """Fresh posts (PostgreSQL schedules them in the database) and older ones (scheduled in Python) follow
    initial_due, each once, however many rounds run."""
    from ocma_core.analytics.pointers import initial_due

    fresh = publish(ocma, workspace_id, account_id, ["Fresh 1", "Fresh 2"], age=timedelta(minutes=3))
    older = publish(ocma, workspace_id, account_id, ["Older"], age=timedelta(hours=2))
    now = utcnow()
    assert metrics.sync_schedule(ocma, now) == 4  # three posts and the account
    assert metrics.sync_schedule(ocma, now) == 0
    for target in [*fresh, *older]:
        assert target.published_at is not None
        row = schedule(ocma, target.id)
        assert (row.step, row.next_due_at) == initial_due(target.published_at, now)
        assert row.account_id == account_id and row.platform == "fakesocial" and len(row.id) == 32


def test_a_young_post_is_collected_at_every_step_in_order(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    (target,) = publish(ocma, workspace_id, account_id, ["Live"], age=timedelta(0))
    published = target.published_at
    assert published is not None and target.external_id is not None
    fake.set_metrics(target.external_id, likes=1, reposts=0, replies=0, impressions=10)
    calls = r"/v1/posts/\d+/metrics"
    taken = []
    for step, offset in enumerate(POST_CADENCE):
        before = published + offset - timedelta(seconds=1)  # a round just before the step finds nothing
        assert asyncio.run(metrics.collect_due(ocma, 50, workspace_id=workspace_id, now=before)) <= 1
        assert len(fake.requests_to("GET", calls)) == step  # only the account may have been read
        asyncio.run(metrics.collect_due(ocma, 50, workspace_id=workspace_id, now=published + offset))
        taken.append(len(fake.requests_to("GET", calls)))
        row = schedule(ocma, target.id)
        following = POST_CADENCE[step + 1] if step + 1 < len(POST_CADENCE) else None
        assert row.step == step + 1
        assert row.next_due_at == (published + following if following is not None else None)
    assert taken == list(range(1, len(POST_CADENCE) + 1))  # one read per step, in order, none twice
    assert POST_CADENCE[:7] == (
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(hours=24),  # the step analytics.ages compares posts at: kept exactly
    )


def test_rate_limits_defer_collection_instead_of_hammering(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    targets = publish(ocma, workspace_id, account_id, [f"Post {i}" for i in range(5)], age=timedelta(days=2))
    fake.rate_limit, fake.rate_window_s, fake.limit_reads = 2, 120.0, True
    with fake.lock:
        fake.state.window.clear()
    before = len(fake.requests)
    stored = asyncio.run(metrics.collect_due(ocma, 50, budgets=MemoryBudgets()))
    calls = [r for r in fake.requests[before:] if "metrics" in r.path]
    assert stored == 2 and fake.state.http_429 == 1
    assert len(calls) == 3  # two answered, one 429, then no more calls for that account in the round
    now = utcnow()
    deferred = [schedule(ocma, t.id) for t in targets] + [schedule(ocma, account_id)]
    waiting = [r for r in deferred if r.last_collected_at is None]
    assert len(waiting) == 4 and all(
        r.next_due_at and r.next_due_at > now + timedelta(seconds=60) for r in waiting
    )
    assert all(r.failures == 0 for r in waiting)  # a rate limit is not a failure
    again = len(fake.requests)
    assert asyncio.run(metrics.collect_due(ocma, 50)) == 0 and len(fake.requests) == again  # no tight loop


def test_an_expired_token_is_refreshed_once_and_collection_goes_on(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    publish(ocma, workspace_id, account_id, ["Refresh me"], age=timedelta(days=8))
    fake.expire_tokens()
    assert asyncio.run(metrics.collect_due(ocma, 10)) == 2
    assert len(fake.requests_to("POST", "/oauth/token")) >= 2  # the connect exchange and one refresh


def test_a_deleted_post_is_retried_with_backoff_then_given_up(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    (target,) = publish(ocma, workspace_id, account_id, ["Gone"], age=timedelta(days=2))
    with fake.lock:
        del fake.state.posts[target.external_id]
    result = asyncio.run(metrics.collect_round(ocma, 10))
    assert result.failed == 1 and "rejected" in result.errors[0]
    row = schedule(ocma, target.id)
    assert (
        row.failures == 1
        and row.next_due_at is not None
        and row.next_due_at > utcnow() + timedelta(minutes=5)
    )
    with ocma.session() as session:
        stored = session.get(MetricSchedule, row.id)
        assert stored is not None
        stored.failures, stored.next_due_at = metrics.MAX_FAILURES - 1, utcnow()
        session.add(stored)
    asyncio.run(metrics.collect_round(ocma, 10))
    assert schedule(ocma, target.id).next_due_at is None  # given up after MAX_FAILURES


def test_webhook_metrics_land_in_the_same_table(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    (target,) = publish(ocma, workspace_id, account_id, ["Hooked"], age=timedelta(hours=3))
    events = [
        WebhookEvent(kind="metrics", external_post_id=target.external_id, metrics={"likes": 7.0}),
        WebhookEvent(kind="metrics", external_account_id="1001", metrics={"followers": 50.0}),
        WebhookEvent(kind="mention", external_post_id=target.external_id),
    ]
    assert metrics.ingest_webhook(ocma, "fakesocial", events) == 0  # nothing the API confirmed yet
    api = MetricsSnapshot(values={"likes": 9.0}, fetched_at=utcnow() - timedelta(minutes=5))
    metrics.store_post_snapshot(ocma, target.id, target.account_id, "fakesocial", api, "poll")
    # Post figures are bounded by the API's (tests/security/test_webhooks.py); account ones are not stored.
    assert metrics.ingest_webhook(ocma, "fakesocial", events) == 1
    snap = next(s for s in snapshots(ocma) if s.source == "webhook")
    assert snap.values == {"likes": 7.0} and snap.target_id == target.id


def test_backfill_imports_what_the_platform_serves_with_progress(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    targets = publish(ocma, workspace_id, account_id, ["Old 1", "Old 2", "Old 3"], age=timedelta(days=90))
    for i, t in enumerate(targets):
        fake.set_metrics(t.external_id, likes=10 * i, impressions=1000)
    seen: list[tuple[int, int]] = []
    report = asyncio.run(
        metrics.backfill(
            ocma, workspace_id, utcnow() - timedelta(days=120), progress=lambda d, n: seen.append((d, n))
        )
    )
    assert report.posts_stored == 3 and report.accounts_stored == 1 and not report.skipped
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == [1, 2, 3, 4]
    assert {s.source for s in snapshots(ocma)} == {"backfill"}
    assert sorted(s.values["likes"] for s in snapshots(ocma)) == [0.0, 10.0, 20.0]


def test_collection_pauses_when_a_shared_budget_is_half_spent(monkeypatch: Any) -> None:
    from datetime import UTC, datetime

    from ocma_example_platform import FakeSocialPlatform

    from ocma_core.platforms import AccountContext, RateLimitInfo, TokenSet

    monkeypatch.setattr(metrics, "_paused", {})
    reset = datetime.now(UTC) + timedelta(minutes=5)
    ctx = AccountContext(
        "acct",
        "1",
        "me",
        TokenSet("t"),
        settings={
            "_rate_limits": [
                RateLimitInfo(scope="account", bucket="GET /x", limit=300, remaining=120, reset_at=reset)
            ]
        },
    )
    metrics._observed(FakeSocialPlatform(env={}), "acct", [ctx])
    assert abs(metrics._paused["acct"] - reset.timestamp()) < 1  # 120 of 300 left: keep them for publishing
    ctx.settings["_rate_limits"] = [RateLimitInfo("account", "GET /x", 300, 200, reset)]
    monkeypatch.setattr(metrics, "_paused", {})
    metrics._observed(FakeSocialPlatform(env={}), "acct", [ctx])
    assert metrics._paused == {}


def test_two_workers_never_collect_the_same_item_twice(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    publish(ocma, workspace_id, account_id, ["One", "Two", "Three"], age=timedelta(days=2))

    async def both() -> list[int]:
        return list(await asyncio.gather(metrics.collect_due(ocma, 50), metrics.collect_due(ocma, 50)))

    assert sum(asyncio.run(both())) == 4  # three posts and the account, once each
    assert len(snapshots(ocma)) == 3


def test_import_history_brings_past_posts_and_their_metrics_once(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    import time

    from ocma_core.analytics.history_import import import_history

    author = next(iter(fake.state.access.values()))
    for i in range(3):
        fake.state.posts[f"9{i}"] = {
            "id": f"9{i}",
            "author": author,
            "text": f"Past {i}",
            "reply_to": None,
            "media_ids": [],
            "created_at": time.time() - 86400 * (60 + i),
            "metrics": {"likes": 5 * i, "reposts": 0, "replies": 0, "impressions": 100},
        }
    seen: list[int] = []
    first = asyncio.run(import_history(ocma, account_id, utcnow() - timedelta(days=90), progress=seen.append))
    again = asyncio.run(import_history(ocma, account_id, None))
    assert (first.listed, first.created, first.metrics_stored) == (3, 3, 3) and seen == [1, 2, 3]
    assert (again.listed, again.created, again.metrics_stored) == (3, 0, 0)  # idempotent, resumable
    with ocma.session() as session:
        targets = session.exec(select(Target).where(col(Target.external_id).in_(["90", "91", "92"]))).all()
    assert len(targets) == 3 and all(t.status is TargetStatus.PUBLISHED for t in targets)
    assert all(t.published_at and utcnow() - t.published_at > timedelta(days=59) for t in targets)
    assert {s.source for s in snapshots(ocma)} == {"import"}
    assert sorted(s.values["likes"] for s in snapshots(ocma)) == [0.0, 5.0, 10.0]


def test_import_history_keeps_the_rate_budget_and_resumes_where_it_stopped(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: Any
) -> None:
    import time

    from ocma_core.analytics.history_import import import_history
    from ocma_core.errors import RateLimited

    monkeypatch.setattr(metrics, "_paused", {})
    monkeypatch.setattr(metrics, "_default_budgets", MemoryBudgets())
    author = next(iter(fake.state.access.values()))
    for i in range(8):
        fake.state.posts[f"8{i}"] = {
            "id": f"8{i}",
            "author": author,
            "text": f"Past {i}",
            "reply_to": None,
            "media_ids": [],
            "created_at": time.time() - 86400 * (30 + i),
            "metrics": {"likes": i, "reposts": 0, "replies": 0, "impressions": 100},
        }
    fake.limit_reads, fake.rate_limit, fake.rate_window_s = True, 4, 600.0
    with pytest.raises(RateLimited):  # the window's retry time is beyond max_wait_s: the import stops
        asyncio.run(import_history(ocma, account_id, None, max_wait_s=1.0))
    stored = len(snapshots(ocma))
    assert 1 <= stored < 8 and fake.state.http_429 == 1  # one 429, never a tight loop against it
    fake.rate_limit = None
    monkeypatch.setattr(metrics, "_paused", {})
    monkeypatch.setattr(metrics, "_default_budgets", MemoryBudgets())
    report = asyncio.run(import_history(ocma, account_id, None))
    assert report.metrics_stored == 8 - stored and report.created <= 8 - stored
    with ocma.session() as session:  # the post whose metrics were refused was created once, not twice
        ids = [t.external_id for t in session.exec(select(Target)).all()]
    assert sorted(ids) == sorted(f"8{i}" for i in range(8))
    assert sorted(s.values["likes"] for s in snapshots(ocma)) == [float(i) for i in range(8)]
