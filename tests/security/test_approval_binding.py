"""Finding "unapproved text goes out": an approval binds to the exact content reviewed; a change after approval
returns the post to pending approval, a retry of an edited post needs approval again, and deleting published
posts follows the same rule."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Account, Post, PostStatus, Role, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.platforms import Platform, PostContent
from ocma_core.registry import get_platform
from ocma_core.services import approval, calendar, posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import create_api_key, update_settings


def _approved_then_failed(ocma: Ocma, workspace_id: str, account_id: str) -> str:
    """A post approved as 'v1', whose publish then failed on the platform."""
    update_settings(ocma, workspace_id, approval_required=True)
    when = (utcnow() + timedelta(hours=1)).isoformat()
    data = PostInput(body="v1", account_ids=[account_id], action="schedule", scheduled_at=when)
    post = posts.create_post(ocma, workspace_id, data)
    assert post.status is PostStatus.PENDING_APPROVAL
    assert posts.approve_post(ocma, workspace_id, post.id).status is PostStatus.SCHEDULED
    with ocma.session() as session:
        for target in posts.targets_of(ocma, post.id):
            stored = session.get(Target, target.id)
            assert stored is not None
            stored.status, stored.last_error = TargetStatus.FAILED, "platform said no"
            session.add(stored)
        failed = session.get(Post, post.id)
        assert failed is not None
        failed.status = PostStatus.FAILED
        session.add(failed)
    return post.id


def test_retrying_an_edited_failed_post_needs_approval_again(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = _approved_then_failed(ocma, workspace_id, account_id)
    calendar.edit_post_content(ocma, workspace_id, post_id, body="unapproved text")
    retried = posts.retry_post(ocma, workspace_id, post_id)
    assert retried.status is PostStatus.PENDING_APPROVAL
    assert {t.status for t in posts.targets_of(ocma, post_id)} == {TargetStatus.DRAFT}
    assert fake.published_texts() == []


def test_retrying_an_unchanged_failed_post_keeps_its_approval(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    post_id = _approved_then_failed(ocma, workspace_id, account_id)
    # kept its approval: back in the queue (at its time: a retry never moves a post earlier), not held
    assert posts.retry_post(ocma, workspace_id, post_id).status in (
        PostStatus.PUBLISHING,
        PostStatus.SCHEDULED,
    )
    assert {t.status for t in posts.targets_of(ocma, post_id)} == {TargetStatus.QUEUED}


def test_publishing_now_after_an_edit_needs_approval_again(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    post_id = _approved_then_failed(ocma, workspace_id, account_id)
    calendar.edit_post_content(ocma, workspace_id, post_id, variants={"fakesocial": "other words"})
    assert posts.publish_now(ocma, workspace_id, post_id).status is PostStatus.PENDING_APPROVAL


def test_a_held_post_approved_then_edited_is_held_again(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    """The agent's policy holds a post in a workspace that does not require approval; once approved, a later
    change is reviewed again."""
    when = (utcnow() + timedelta(hours=1)).isoformat()
    data = PostInput(body="held", account_ids=[account_id], action="schedule", scheduled_at=when)
    post = posts.create_post(ocma, workspace_id, data, require_approval=True)
    assert posts.approve_post(ocma, workspace_id, post.id).status is PostStatus.SCHEDULED
    edited = calendar.edit_post_content(ocma, workspace_id, post.id, body="changed after approval")
    assert edited.status is PostStatus.PENDING_APPROVAL


def test_an_editor_cannot_delete_published_posts_where_approval_is_required(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    update_settings(ocma, workspace_id, approval_required=True)
    post = posts.create_post(ocma, workspace_id, PostInput(body="x", account_ids=[account_id]))
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        answer = client.post(f"/v1/posts/{post.id}/delete-published", headers=editor)
    assert answer.status_code == 403 and "admin or owner" in answer.json()["detail"]


def test_changing_where_an_approved_post_goes_needs_approval_again(
    ocma: Ocma, workspace_id: str, account_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the platform says decides the destination (Pinterest's default board) is part of the approval:
    a new default board after approval sends a retried post back for approval; the same one keeps it."""

    def destination(self: Platform, content: PostContent, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {"board": settings.get("board")}

    monkeypatch.setattr(type(get_platform("fakesocial")), "destination", destination)
    _set_board(ocma, account_id, "recipes")
    post_id = _approved_then_failed(ocma, workspace_id, account_id)
    _set_board(ocma, account_id, "holidays")
    assert posts.retry_post(ocma, workspace_id, post_id).status is PostStatus.PENDING_APPROVAL
    _set_board(ocma, account_id, "recipes")
    with ocma.session() as session:
        post = session.get(Post, post_id)
        assert post is not None and approval.is_approved(session, post)


def _set_board(ocma: Ocma, account_id: str, board: str) -> None:
    with ocma.session() as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.settings = {**account.settings, "board": board}
        session.add(account)
