"""A Redis call that hangs holds up only its own publish: the event loop never waits on Redis or the database."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.engine.budgets import MemoryBudgets
from ocma_core.platforms import RateBudget
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


class StallingBudgets(MemoryBudgets):
    """Budgets whose first reservation hangs (as a Redis call to a stalled server does) until released."""

    blocking = True  # they stand for Redis: the engine calls them off the event loop

    def __init__(self) -> None:
        super().__init__()
        self.stalled, self.release_stall = threading.Event(), threading.Event()
        self._first, self._guard = True, threading.Lock()

    def try_acquire(self, keys: list[str], declared: list[RateBudget | None], lease: str = "") -> float:
        """Block the first caller until `release_stall` is set (at most 60 s), then reserve as usual."""
        with self._guard:
            stall, self._first = self._first, False
        if stall:
            self.stalled.set()
            self.release_stall.wait(60)
        return super().try_acquire(keys, declared, lease)


def test_a_stalled_redis_call_does_not_hold_up_other_publishes(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets = StallingBudgets()
    monkeypatch.setattr("ocma_core.engine.budgets.make_budgets", lambda *a, **k: budgets)
    post_ids = [
        posts.create_post(
            ocma, workspace_id, PostInput(body=f"Post {i}", account_ids=[account_id], action="publish_now")
        ).id
        for i in range(5)
    ]
    seen_while_stalled: list[int] = []

    def published() -> int:
        return sum(posts.targets_of(ocma, p)[0].status is TargetStatus.PUBLISHED for p in post_ids)

    def until() -> bool:
        done = published()
        if budgets.stalled.is_set() and not budgets.release_stall.is_set() and done == len(post_ids) - 1:
            seen_while_stalled.append(done)  # every other publish finished while one call hung
            budgets.release_stall.set()
        return done == len(post_ids)

    run_worker(ocma, until, timeout=90)
    assert seen_while_stalled == [len(post_ids) - 1]
    assert published() == len(post_ids)
    assert sorted(fake.published_texts()) == [f"Post {i}" for i in range(5)]
