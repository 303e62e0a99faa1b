"""The engine against a rate window it learns the hard way: a lost first reply, a window far shorter than
documented, and a reset header that says a little earlier than the platform really resets."""

from __future__ import annotations

from typing import Any

import pytest
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


def test_lost_first_reply_does_not_stall_a_short_window(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.registry import get_platform

    monkeypatch.setattr(get_platform("fakesocial"), "request_timeout_s", 0.5)
    # Documented: 300 per 15 minutes (the plugin's RateBudget). Real: 2 per 2 s, reset reported 0.5 s early.
    fake.rate_limit, fake.rate_window_s, fake.reset_early_s = 2, 2.0, 0.5
    fake.fail_next("timeout_after_store")  # the first call of the fresh budget gets no answer
    ids = [
        posts.create_post(
            ocma, workspace_id, PostInput(body=f"Window {i}", account_ids=[account_id], action="publish_now")
        ).id
        for i in range(6)
    ]

    def done() -> bool:
        return all(posts.targets_of(ocma, i)[0].status is TargetStatus.PUBLISHED for i in ids)

    # Before: the lost reply made the engine assume the documented 15-minute window, and the real headers
    # never replaced it, so the posts after the second waited for minutes.
    run_worker(ocma, done, timeout=40)
    assert done()
    stats = fake.stats()
    assert stats["duplicates"] == 0 and sorted(fake.published_texts()) == [f"Window {i}" for i in range(6)]
    assert stats["http_429"] == 0  # the margin after each reset kept every call inside the real window
