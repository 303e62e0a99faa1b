"""A revoked account holds only what came due while it was broken; reconnecting returns future posts to the
queue at their time, and what fell due meanwhile waits for a person's choice (API, CLI, service alike)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import select
from tests_support import connect_fakesocial, run_worker

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Notification, Post, PostStatus, Role, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.services import held, posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import create_api_key


def _schedule(ocma: Ocma, workspace_id: str, account_id: str, text: str, when: datetime) -> str:
    data = PostInput(body=text, account_ids=[account_id], action="schedule", scheduled_at=when)
    return posts.create_post(ocma, workspace_id, data).id


def _came_due(ocma: Ocma, post_id: str, when: datetime) -> None:
    """Imitate time passing: the post's time is now `when` (in the past)."""
    with ocma.session() as s:
        post = s.get(Post, post_id)
        assert post is not None
        post.scheduled_at = when
        for target in s.exec(select(Target).where(Target.post_id == post_id)):
            target.due_at = when
            s.add(target)
        s.add(post)


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


def _revoke(fake: Any) -> None:
    fake.expire_tokens()
    with fake.lock:
        fake.state.refresh.clear()  # the refresh token was revoked


@pytest.fixture
def broken(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> Iterator[dict[str, str]]:
    """Posts due yesterday (two), earlier today and next week, on an account whose grant was revoked; the
    worker has run, so what was due is held."""
    now = utcnow()
    next_week = now + timedelta(days=7)
    ids = {
        "yesterday": _schedule(ocma, workspace_id, account_id, "Due yesterday", now + timedelta(hours=1)),
        "yesterday2": _schedule(ocma, workspace_id, account_id, "Also yesterday", now + timedelta(hours=1)),
        "today": _schedule(ocma, workspace_id, account_id, "Due this morning", now + timedelta(hours=1)),
        "next_week": _schedule(ocma, workspace_id, account_id, "Due next week", next_week),
    }
    _came_due(ocma, ids["yesterday"], now - timedelta(days=1))
    _came_due(ocma, ids["yesterday2"], now - timedelta(days=1, minutes=5))
    _came_due(ocma, ids["today"], now - timedelta(hours=2))
    _revoke(fake)
    due = ("yesterday", "yesterday2", "today")
    run_worker(ocma, lambda: all(_target(ocma, ids[k]).status is TargetStatus.HELD for k in due), timeout=15)
    yield ids


def test_only_what_came_due_is_held_and_reconnect_requeues_the_future(
    ocma: Ocma, workspace_id: str, fake: Any, broken: dict[str, str]
) -> None:
    future = _target(ocma, broken["next_week"])
    assert future.status is TargetStatus.QUEUED  # not held: its time has not come
    assert {_target(ocma, broken[k]).status for k in ("yesterday", "yesterday2", "today")} == {
        TargetStatus.HELD
    }

    connect_fakesocial(ocma, workspace_id, fake)  # the person reconnects the account

    after = _target(ocma, broken["next_week"])
    assert after.status is TargetStatus.QUEUED and after.due_at == future.due_at  # at its own time
    waiting = held.held_posts(ocma, workspace_id)
    assert [p["post_id"] for p in waiting] == [broken["yesterday2"], broken["yesterday"], broken["today"]]
    assert all(p["choices"] == ["publish_now", "reschedule", "cancel"] for p in waiting)
    with ocma.session() as s:
        notices = [n for n in s.exec(select(Notification)) if n.kind == "account.reconnected"]
    assert len(notices) == 1
    assert {h["post_id"] for h in notices[0].payload["held"]} == {
        broken["yesterday"],
        broken["yesterday2"],
        broken["today"],
    }
    # Nothing that fell due goes out on its own after the reconnect.
    run_worker(ocma, lambda: bool(fake.published_texts()), timeout=1.5)
    assert fake.published_texts() == []


def test_a_person_decides_each_held_post(
    ocma: Ocma, workspace_id: str, fake: Any, broken: dict[str, str]
) -> None:
    with pytest.raises(Exception, match="still needs reconnecting"):
        held.decide_held(ocma, workspace_id, broken["yesterday"], "publish_now")
    connect_fakesocial(ocma, workspace_id, fake)
    later = utcnow() + timedelta(hours=3)
    held.decide_held(ocma, workspace_id, broken["yesterday"], "publish_now")
    held.decide_held(ocma, workspace_id, broken["today"], "reschedule", later)
    cancelled = held.decide_held(ocma, workspace_id, broken["yesterday2"], "cancel")
    assert cancelled.status is PostStatus.CANCELLED
    run_worker(ocma, lambda: _target(ocma, broken["yesterday"]).status is TargetStatus.PUBLISHED, timeout=15)
    assert fake.published_texts() == ["Due yesterday"]
    moved = _target(ocma, broken["today"])
    assert moved.status is TargetStatus.QUEUED and moved.due_at == later
    assert posts.get_post(ocma, workspace_id, broken["today"]).scheduled_at == later
    assert held.held_posts(ocma, workspace_id) == []


def test_retry_never_moves_a_post_before_its_time(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    tomorrow = utcnow() + timedelta(days=1)
    post_id = _schedule(ocma, workspace_id, account_id, "Meant for tomorrow", tomorrow)
    with ocma.session() as s:  # held as the engine used to hold every queued post of a broken account
        target = s.exec(select(Target).where(Target.post_id == post_id)).one()
        target.status, target.last_error = TargetStatus.HELD, "needs reconnecting"
        s.add(target)
    posts.retry_post(ocma, workspace_id, post_id)
    retried = _target(ocma, post_id)
    assert retried.status is TargetStatus.QUEUED and retried.due_at == tomorrow
    run_worker(ocma, lambda: bool(fake.published_texts()), timeout=1.5)
    assert fake.published_texts() == []


def test_held_posts_through_the_api_and_the_cli(
    ocma: Ocma, workspace_id: str, fake: Any, broken: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_fakesocial(ocma, workspace_id, fake)
    headers = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        listed = client.get("/v1/posts/held", headers=headers).json()
        assert len(listed) == 3 and listed[0]["targets"][0]["platform"] == "fakesocial"
        bad = client.post(f"/v1/posts/{broken['today']}/held", headers=headers, json={"choice": "reschedule"})
        assert bad.status_code == 422 and "needs a time" in bad.json()["detail"]
        done = client.post(f"/v1/posts/{broken['today']}/held", headers=headers, json={"choice": "cancel"})
        assert done.status_code == 200 and done.json()["status"] == "cancelled"

    from ocma_core.cli.main import cli

    monkeypatch.chdir(ocma.settings.data_dir)
    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url)
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    runner = CliRunner()
    shown = runner.invoke(cli, ["posts", "held", "--json"])
    assert shown.exit_code == 0, shown.output
    assert broken["yesterday"] in shown.output and broken["today"] not in shown.output
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    moved = runner.invoke(cli, ["posts", "held", broken["yesterday"], "--reschedule", at.isoformat()])
    assert moved.exit_code == 0, moved.output
    assert _target(ocma, broken["yesterday"]).due_at == at
    refused = runner.invoke(cli, ["posts", "held", broken["yesterday2"]])
    assert refused.exit_code != 0 and "--publish-now" in refused.output
