"""Background rounds as rq jobs: scheduled once per period for all workers, run by `ocma jobs work`, retried,
kept in rq's failed registry; the inline mode is what it was."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import col, select
from tests_support import REDIS_URL, need_service, run_worker

from ocma_core import jobs
from ocma_core.cli.main import cli
from ocma_core.context import Ocma
from ocma_core.db.models import PostMetricSnapshot, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


@pytest.fixture
def rq_ocma(ocma: Ocma) -> Iterator[Ocma]:
    """The test's OCMA with OCMA_BACKGROUND=rq on the test Redis, under a namespace of its own."""
    need_service("redis", REDIS_URL)
    settings = ocma.settings.model_copy(update={"redis_url": REDIS_URL, "background": "rq"})
    context = Ocma(settings)
    context.__dict__["redis_namespace"] = f"ocma-test-jobs-{uuid.uuid4().hex[:8]}:"
    yield context
    client = jobs._redis(context)
    for key in client.scan_iter(f"*{context.redis_namespace}*"):
        client.delete(key)


def _counts(ocma: Ocma) -> dict[str, dict[str, int]]:
    return {q["name"].rsplit("-", 1)[-1]: q for q in jobs.status(ocma)["queues"]}


def test_each_round_is_scheduled_once_per_period_for_all_workers(rq_ocma: Ocma) -> None:
    first, second = jobs.Scheduler(rq_ocma), jobs.Scheduler(rq_ocma)
    now = 1_900_000_000.0  # a fresh namespace: every kind that is on is due (weekly reports are off here)
    assert sorted(first.tick(now) + second.tick(now)) == ["login_expiry", "metrics", "webhooks"]
    # The next second's webhooks round is due, but the last one still waits: rounds never pile up.
    assert first.tick(now + 1) + second.tick(now + 1) == []
    waiting = _counts(rq_ocma)
    assert waiting["high"]["waiting"] == 2 and waiting["low"]["waiting"] == 1
    jobs.work(rq_ocma, burst=True)
    assert first.tick(now + 2) == ["webhooks"]  # once it has run, the next round goes on the queue


def test_a_job_worker_runs_a_metrics_round(
    ocma: Ocma, rq_ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post = posts.create_post(
        ocma, workspace_id, PostInput(body="Measured by rq", account_ids=[account_id], action="publish_now")
    )
    run_worker(ocma, lambda: posts.targets_of(ocma, post.id)[0].status is TargetStatus.PUBLISHED)
    with ocma.session() as session:  # published two hours ago: its first measurement is due
        target = session.exec(select(Target).where(col(Target.post_id) == post.id)).one()
        target.published_at = utcnow() - timedelta(hours=2)
        session.add(target)
    assert "metrics" in jobs.Scheduler(rq_ocma).tick(1_900_000_000.0)
    jobs.work(rq_ocma, burst=True)
    with ocma.session() as session:
        measured = session.exec(select(PostMetricSnapshot).where(PostMetricSnapshot.target_id == target.id))
        assert len(list(measured)) == 1
    counts = _counts(rq_ocma)
    assert counts["low"]["finished"] == 1 and counts["high"]["finished"] == 2
    assert all(q["failed"] == 0 and q["waiting"] == 0 for q in counts.values())


def test_a_failing_round_is_retried_later_then_kept_as_failed(
    rq_ocma: Ocma, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: Ocma) -> object:
        raise RuntimeError("the platform's metrics endpoint is down")

    monkeypatch.setitem(jobs.KINDS, "webhooks", jobs.Kind("high", lambda _o: 1.0, broken))
    jobs.Scheduler(rq_ocma).tick(1_900_000_001.5)  # the other rounds are scheduled too, and succeed
    jobs.work(rq_ocma, burst=True)
    [high, _low] = jobs.queues(rq_ocma)
    [job_id] = high.scheduled_job_registry.get_job_ids()  # not lost: scheduled again in RETRY_INTERVALS[0]
    assert high.fetch_job(job_id).retries_left == len(jobs.RETRY_INTERVALS) - 1  # type: ignore[union-attr]
    high.enqueue(jobs.run, "webhooks", job_id="once-more")  # no retries left: kept in rq's failed registry
    jobs.work(rq_ocma, burst=True)
    assert _counts(rq_ocma)["high"]["failed"] == 1


def test_the_publishing_worker_schedules_rounds_instead_of_running_them(rq_ocma: Ocma) -> None:
    run_worker(rq_ocma, lambda: _counts(rq_ocma)["high"]["waiting"] > 0, timeout=30)
    assert _counts(rq_ocma)["high"]["waiting"] > 0  # the worker put rounds on the queue and ran none itself


def test_inline_mode_says_where_the_rounds_run(ocma: Ocma, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.database_url or "")
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.delenv("OCMA_BACKGROUND", raising=False)
    status = CliRunner().invoke(cli, ["jobs", "status"])
    assert status.exit_code == 0 and "inside the publishing worker" in status.output
    work = CliRunner().invoke(cli, ["jobs", "work", "--burst"])
    assert work.exit_code != 0 and "OCMA_BACKGROUND=rq" in work.output
