"""Database connections are sized from the configuration: a worker never opens more than OCMA_DB_POOL_SIZE,
work beyond it waits for a connection instead of failing, and `ocma status` states the total."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import event, text
from tests_support import run_worker

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.status import engine_status

POOL = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with a small pool."""
    return settings.model_copy(update={"db_pool_size": POOL, "db_pool_timeout_s": 30.0})


class Peak:
    """The most connections checked out of an engine's pool at once."""

    def __init__(self, ocma: Ocma) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()
        event.listen(ocma.engine, "checkout", self._out)
        event.listen(ocma.engine, "checkin", self._in)

    def _out(self, *_: Any) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def _in(self, *_: Any) -> None:
        with self._lock:
            self.now -= 1


def test_a_busy_worker_stays_within_its_pool(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    ids = [
        posts.create_post(
            ocma, workspace_id, PostInput(body=f"Pool {i}", account_ids=[account_id], action="publish_now")
        ).id
        for i in range(24)
    ]
    peak = Peak(ocma)
    done = (TargetStatus.PUBLISHED,)
    run_worker(ocma, lambda: all(posts.targets_of(ocma, i)[0].status in done for i in ids), concurrency=32)
    assert all(posts.targets_of(ocma, i)[0].status is TargetStatus.PUBLISHED for i in ids)
    assert 0 < peak.most <= POOL  # before: a thread pool of 32 behind a pool of 10 + 20 overflow


def test_work_beyond_the_pool_waits_instead_of_failing(ocma: Ocma) -> None:
    errors: list[BaseException] = []
    peak = Peak(ocma)

    def hold() -> None:
        try:
            with ocma.session() as session:
                session.execute(text("SELECT 1"))
                time.sleep(0.05)
        except BaseException as exc:  # collected, then asserted
            errors.append(exc)

    threads = [threading.Thread(target=hold) for _ in range(4 * POOL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and peak.most <= POOL


def test_status_states_the_connections(ocma: Ocma) -> None:
    found = engine_status(ocma)["database"]
    assert found["per_process"] == POOL and found["max_total"] == POOL * found["processes"]
    if ocma.engine.dialect.name == "postgresql":
        assert found["server_max"] > 0 and found["open_now"] >= 1
