"""Posts the platform accepts but is still processing (a video): asked about until out, never published twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Notification, PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.engine import pending, transitions
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask every 50 ms instead of from 5 s on."""
    monkeypatch.setattr(pending, "FIRST_POLL", timedelta(milliseconds=50))
    monkeypatch.setattr(pending, "MAX_POLL", timedelta(milliseconds=100))


def _publish(ocma: Ocma, workspace_id: str, account_id: str, text: str) -> str:
    data = PostInput(body=text, account_ids=[account_id], action="publish_now")
    return posts.create_post(ocma, workspace_id, data).id


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


def _actions(ocma: Ocma, target_id: str) -> list[str]:
    with ocma.session() as s:
        rows = s.exec(
            select(PublishAttempt)
            .where(PublishAttempt.target_id == target_id)
            .order_by(col(PublishAttempt.started_at))
        )
        return [a.action for a in rows]


def _events(ocma: Ocma) -> list[str]:
    with ocma.session() as s:
        return [n.kind for n in s.exec(select(Notification))]


def test_a_processing_post_is_asked_about_until_published(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.process_next(polls=2)
    post_id = _publish(ocma, workspace_id, account_id, "A video that takes a while")
    run_worker(ocma, lambda: _target(ocma, post_id).status is not TargetStatus.QUEUED, timeout=60)
    while_processing = _target(ocma, post_id)
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED, timeout=60)
    target = _target(ocma, post_id)
    assert while_processing.status in (TargetStatus.PENDING, TargetStatus.PUBLISHED)
    assert target.url == f"https://fakesocial.test/p/{target.external_id}"
    assert target.part_ids == [target.external_id]
    assert fake.stats()["publish_calls"] == 1  # asked, never published again
    assert _actions(ocma, target.id) == ["publish", "check_pending", "check_pending", "check_pending"]
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED
    assert "post.published" in _events(ocma)


def test_processing_that_fails_fails_the_target_with_the_platforms_reason(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.process_next(polls=1, fail="The video codec is not supported.")
    post_id = _publish(ocma, workspace_id, account_id, "A broken video")
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.FAILED, timeout=60)
    target = _target(ocma, post_id)
    assert target.last_error == (
        "fakesocial could not finish the post: Processing failed: The video codec is not supported."
    )
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.FAILED
    assert "post.failed" in _events(ocma) and fake.published_texts() == []
    # Retrying publishes a new copy; the failed copy's id no longer describes the target.
    posts.retry_post(ocma, workspace_id, post_id)
    assert _target(ocma, post_id).external_id is None
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED, timeout=60)
    again = _target(ocma, post_id)
    assert again.external_id != target.external_id and fake.published_texts() == ["A broken video"]


def test_a_post_processing_too_long_fails_with_what_to_do(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pending, "PENDING_GIVE_UP", timedelta(0))
    fake.process_next(polls=1000)
    post_id = _publish(ocma, workspace_id, account_id, "Forever processing")
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.FAILED, timeout=60)
    target = _target(ocma, post_id)
    assert target.last_error is not None and "still processing" in target.last_error
    assert "retry or delete it" in target.last_error and fake.stats()["publish_calls"] == 1


def test_a_worker_dying_while_asking_leaves_it_pending_not_unconfirmed(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.process_next(polls=1)
    post_id = _publish(ocma, workspace_id, account_id, "Asked by a worker that died")
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PENDING, timeout=60)
    target = _target(ocma, post_id)
    with ocma.session() as s:  # as a claim of a dead worker looks: publishing, claimed long ago
        row = s.get(Target, target.id)
        assert row is not None
        row.status, row.claimed_by, row.claimed_at = (
            TargetStatus.PUBLISHING,
            "dead",
            utcnow() - timedelta(hours=1),
        )
        s.add(row)
    assert transitions.recover_stale_claims(ocma, timedelta(seconds=30)) == 1
    assert _target(ocma, post_id).status is TargetStatus.PENDING
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED, timeout=60)
    assert fake.stats()["publish_calls"] == 1 and "find_published" not in _actions(ocma, target.id)


def test_a_failed_copy_edited_and_published_again_goes_out_as_a_new_post(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    fake.process_next(polls=0, fail="Unsupported video.")
    post_id = _publish(ocma, workspace_id, account_id, "First try")
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.FAILED, timeout=60)
    edited = PostInput(body="Second try", account_ids=[account_id], action="publish_now")
    posts.update_post(ocma, workspace_id, post_id, edited)
    assert _target(ocma, post_id).external_id is None  # the failed copy's id is forgotten
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED, timeout=60)
    assert fake.published_texts() == ["Second try"] and fake.stats()["publish_calls"] == 2
