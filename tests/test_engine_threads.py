"""Threads through the engine against FakeSocial: a thread is published whole or not at all, no part twice.

A reply lost after the platform stored the part, a failure after part 1 was out, a plugin that reports
fewer parts than the thread has, a part that the platform is still processing, and a part refused for good.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput

PARTS = ["1/3 A thread that must arrive whole", "2/3 the middle part", "3/3 and the end"]
TERMINAL = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)


def _thread(ocma: Ocma, workspace_id: str, account_id: str) -> str:
    data = PostInput(body=PARTS[0], thread=PARTS[1:], account_ids=[account_id], action="publish_now")
    return posts.create_post(ocma, workspace_id, data).id


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


def _finish(ocma: Ocma, post_id: str, timeout: float = 30.0) -> Target:
    run_worker(ocma, lambda: _target(ocma, post_id).status in TERMINAL, timeout=timeout)
    return _target(ocma, post_id)


def _actions(ocma: Ocma, target_id: str) -> list[tuple[str, str]]:
    with ocma.session() as s:
        rows = s.exec(
            select(PublishAttempt)
            .where(PublishAttempt.target_id == target_id)
            .order_by(PublishAttempt.started_at)  # type: ignore[arg-type]
        )
        return [(a.action, a.outcome) for a in rows]


def _assert_whole(fake: Any, target: Target) -> None:
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert sorted(fake.published_texts()) == sorted(PARTS)  # each part exactly once
    assert len(target.part_ids) == 3 and target.external_id == target.part_ids[0]
    assert [fake.parent_of(i) for i in target.part_ids] == [None, *target.part_ids[:2]]
    texts = {p: fake.state.posts[p]["text"] for p in target.part_ids}
    assert [texts[p] for p in target.part_ids] == PARTS


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch, fake: Any) -> None:
    """FakeSocial answers a "timeout_after_store" after 5 s; the plugin gives up after 0.5 s."""
    from ocma_core.registry import get_platform

    monkeypatch.setattr(get_platform("fakesocial"), "request_timeout_s", 0.5)


@pytest.mark.parametrize("lost", [0, 1, 2])
def test_a_lost_reply_mid_thread_is_continued_from_the_last_part_out(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, short_timeout: None, lost: int
) -> None:
    fake.fail_next("timeout_after_store", skip=lost)  # part lost+1 is stored, its answer never arrives
    post_id = _thread(ocma, workspace_id, account_id)

    target = _finish(ocma, post_id)

    _assert_whole(fake, target)
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED
    actions = _actions(ocma, target.id)
    assert actions[0] == ("publish", "Unconfirmed") and ("find_published", "ok") in actions
    # the parts after the one lost are posted by continue_thread, never by publishing the thread again
    assert ("continue_thread", "ok") in actions if lost < 2 else ("continue_thread", "ok") not in actions
    assert [a for a, _ in actions].count("publish") == 1
    assert fake.stats()["publish_calls"] == 3


def test_a_failure_after_part_one_looks_it_up_before_the_retry(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.fail_next("server_error", skip=1)  # part 1 out, part 2 refused with a 503 (not stored)
    post_id = _thread(ocma, workspace_id, account_id)

    target = _finish(ocma, post_id)

    _assert_whole(fake, target)
    actions = _actions(ocma, target.id)
    assert actions == [("publish", "Transient"), ("find_published", "ok"), ("continue_thread", "ok")]


def test_a_plugin_cannot_report_a_partial_thread_as_published(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.registry import get_platform

    platform = get_platform("fakesocial")
    real = platform.publish

    async def publish_and_forget_the_last_part(ctx: Any, content: Any) -> Any:
        result = await real(ctx, content)
        with fake.lock:  # as if the last part had never been posted
            del fake.state.posts[result.part_ids[-1]]
        result.part_ids = result.part_ids[:-1]
        return result

    monkeypatch.setattr(platform, "publish", publish_and_forget_the_last_part)
    post_id = _thread(ocma, workspace_id, account_id)

    target = _finish(ocma, post_id)

    _assert_whole(fake, target)
    assert [a for a, _ in _actions(ocma, target.id)] == ["publish", "find_published", "continue_thread"]


def test_a_part_still_processing_is_waited_for_then_the_thread_goes_on(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.process_next(polls=1, skip=1)  # part 2 is accepted as "processing"
    post_id = _thread(ocma, workspace_id, account_id)

    target = _finish(ocma, post_id)

    _assert_whole(fake, target)
    actions = [a for a, _ in _actions(ocma, target.id)]
    assert actions[0] == "publish" and "check_pending" in actions and actions[-1] == "continue_thread"
    assert actions.count("publish") == 1


def test_a_part_refused_for_good_takes_the_parts_out_back(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.fail_next("duplicate", skip=2)  # part 3 refused permanently after parts 1 and 2 are out
    post_id = _thread(ocma, workspace_id, account_id)

    target = _finish(ocma, post_id)

    assert target.status is TargetStatus.FAILED
    assert "Part 3 of 3 was refused" in (target.last_error or "")
    assert "2 part(s) already out were deleted again" in (target.last_error or "")
    assert fake.published_texts() == []
    assert target.attempts == 1
