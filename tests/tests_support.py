"""Helpers for the integration tests (not fixtures)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from ocma_core.context import Ocma
from ocma_core.engine.worker import Worker
from ocma_core.services import accounts


def connect_fakesocial(ocma: Ocma, workspace_id: str, fake: Any, user: str = "1001") -> str:
    """Connect FakeSocial user `user`'s account: start, consent at the fake, complete the callback."""
    url = accounts.start_connect(ocma, workspace_id, "fakesocial")
    code, state = fake.authorize(url, user=user)
    account = asyncio.run(accounts.complete_connect(ocma, "fakesocial", state=state, code=code))
    return account.id


def run_worker(
    ocma: Ocma,
    until: Callable[[], bool],
    timeout: float = 90.0,
    workers: int = 1,
    concurrency: int = 8,
    **kw: Any,
) -> list[Worker]:
    """Run `workers` Worker loops until `until()` holds (checked every 50 ms) or the timeout passes."""

    async def main() -> list[Worker]:
        pool = [Worker(ocma, concurrency=concurrency, **kw) for _ in range(workers)]
        tasks = [asyncio.create_task(w.run()) for w in pool]
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                done = await asyncio.to_thread(until)
                if done:
                    break
                await asyncio.sleep(0.05)
        finally:
            for w in pool:
                w.stop()
            await asyncio.gather(*tasks)
        return pool

    return asyncio.run(main())


def publish_and_wait(
    ocma: Ocma, workspace_id: str, account_ids: list[str], text: str, thread: list[str] | None = None
) -> str:
    """Create a post due now, run the worker until every target is published; returns the post id."""
    from ocma_core.db.models import TargetStatus
    from ocma_core.services import posts
    from ocma_core.services.post_input import PostInput

    data = PostInput(body=text, thread=thread or [], account_ids=account_ids, action="publish_now")
    post_id = posts.create_post(ocma, workspace_id, data).id
    ended = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)
    run_worker(ocma, lambda: all(t.status in ended for t in posts.targets_of(ocma, post_id)))
    targets = posts.targets_of(ocma, post_id)
    assert all(t.status is TargetStatus.PUBLISHED for t in targets), [t.last_error for t in targets]
    return post_id


def weekly_report_due(settings: Any, timezone: str) -> Any:
    """Settings whose weekly report (OCMA_WEEKLY_REPORT_AT) fell due a minute ago in `timezone`."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from ocma_core.engine.weekly import DAYS

    local = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(ZoneInfo(timezone))
    return settings.model_copy(update={"weekly_report_at": f"{DAYS[local.weekday()]} {local:%H:%M}"})


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("OCMA_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("OCMA_TEST_REDIS_URL", "")


def need_service(name: str, url: str) -> None:
    """Skip (or, in CI, fail) when a service the test needs is not configured."""
    if url:
        return
    reason = f"{name} not available: set OCMA_TEST_{name.upper()}_URL (CI runs these tests)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)
