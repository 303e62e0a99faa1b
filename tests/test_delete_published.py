"""Deleting published posts through ocma_core.services.deletion, against FakeSocial.

Posts are published by the real worker; deleting goes through the example platform plugin over HTTP, so the
fake really loses the posts (and keeps what was not deleted).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from tests_support import connect_fakesocial, publish_and_wait

from ocma_core.context import Ocma
from ocma_core.db.analytics_models import MetricSchedule
from ocma_core.db.models import Account, Notification, PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.errors import ConflictError, NotFoundError
from ocma_core.platforms import AccountContext, Capability
from ocma_core.registry import get_platform
from ocma_core.services import posts
from ocma_core.services.deletion import delete_published_sync
from ocma_core.services.post_input import PostInput


def _targets(ocma: Ocma, post_id: str) -> dict[str, Target]:
    return {t.account_id: t for t in posts.targets_of(ocma, post_id)}


def _attempts(ocma: Ocma, target_id: str, action: str = "delete") -> list[PublishAttempt]:
    with ocma.session() as s:
        query = select(PublishAttempt).where(
            PublishAttempt.target_id == target_id, PublishAttempt.action == action
        )
        return list(s.exec(query))


def _deleted_paths(fake: Any) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in fake.requests_to("DELETE", r"/v1/posts/\d+")]


def test_thread_is_deleted_part_by_part_last_first(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "1/3 Launch", ["2/3 details", "3/3 link"])
    target = _targets(ocma, post_id)[account_id]
    held = {p["text"]: p["id"] for p in fake.state.posts.values()}
    assert target.part_ids == [held["1/3 Launch"], held["2/3 details"], held["3/3 link"]]
    from ocma_core.services.metrics import sync_schedule

    sync_schedule(ocma)  # metrics collection knows the target

    results = delete_published_sync(ocma, workspace_id, post_id, by="test")

    assert [(r.status, r.parts, r.parts_deleted) for r in results] == [("deleted", 3, 3)]
    assert fake.published_texts() == []
    assert _deleted_paths(fake) == list(reversed(target.part_ids))  # replies before the post they answer
    after = _targets(ocma, post_id)[account_id]
    assert after.status is TargetStatus.DELETED
    assert (after.external_id, after.url, after.part_ids) == (target.external_id, target.url, target.part_ids)
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.DELETED
    attempts = _attempts(ocma, target.id)
    assert sorted(a.outcome for a in attempts) == ["ok", "ok", "ok"]
    assert all("for test" in a.request_summary for a in attempts)
    with ocma.session() as s:
        event = s.exec(select(Notification).where(Notification.kind == "post.deleted")).one()
        schedule = s.exec(select(MetricSchedule).where(MetricSchedule.ref_id == target.id)).one()
    assert event.payload["post_id"] == post_id and event.payload["post_status"] == "deleted"
    assert event.payload["targets"][0]["status"] == "deleted"
    assert schedule.next_due_at is None  # a deleted post's metrics are not collected any more


def test_delete_on_one_of_two_accounts(ocma: Ocma, workspace_id: str, account_id: str, fake: Any) -> None:
    other = connect_fakesocial(ocma, workspace_id, fake, user="1002")
    post_id = publish_and_wait(ocma, workspace_id, [account_id, other], "Both accounts", ["and a reply"])

    results = delete_published_sync(ocma, workspace_id, post_id, account_ids=[other])

    assert [(r.account_id, r.status) for r in results] == [(other, "deleted")]
    assert sorted(p["author"] for p in fake.state.posts.values()) == ["1001", "1001"]
    targets = _targets(ocma, post_id)
    assert (targets[account_id].status, targets[other].status) == (
        TargetStatus.PUBLISHED,
        TargetStatus.DELETED,
    )
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED  # still out on one

    again = delete_published_sync(ocma, workspace_id, post_id)

    assert {(r.account_id, r.status) for r in again} == {(account_id, "deleted"), (other, "skipped")}
    assert fake.published_texts() == []
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.DELETED


def test_platform_refusal_fails_that_target_and_the_other_goes_on(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    other = connect_fakesocial(ocma, workspace_id, fake, user="1002")
    post_id = publish_and_wait(ocma, workspace_id, [account_id, other], "Pinned announcement", [])
    protected = _targets(ocma, post_id)[account_id]
    assert protected.external_id is not None
    fake.protect(protected.external_id, "Pinned posts cannot be deleted.")

    results = {r.account_id: r for r in delete_published_sync(ocma, workspace_id, post_id)}

    assert results[account_id].status == "failed"
    assert "Pinned posts cannot be deleted." in results[account_id].reason
    assert results[other].status == "deleted"
    assert [p["author"] for p in fake.state.posts.values()] == ["1001"]
    targets = _targets(ocma, post_id)
    assert (targets[account_id].status, targets[other].status) == (
        TargetStatus.PUBLISHED,
        TargetStatus.DELETED,
    )
    assert [(a.outcome, a.http_status) for a in _attempts(ocma, protected.id)] == [("Rejected", 403)]
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED


def test_a_platform_that_cannot_delete_is_not_called(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Here to stay", [])
    platform = get_platform("fakesocial")
    monkeypatch.setattr(platform, "capabilities", platform.capabilities - {Capability.DELETE})

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert result.status == "failed" and "does not let apps delete posts" in result.reason
    assert fake.state.delete_calls == 0 and fake.published_texts() == ["Here to stay"]
    assert _targets(ocma, post_id)[account_id].status is TargetStatus.PUBLISHED


def _delete_without_404_handling(platform: Any) -> Any:
    """A plugin's delete that maps every error status, 404 included, through raise_for_status."""

    async def delete(ctx: AccountContext, external_id: str) -> None:
        url = f"{platform.api_base}/v1/posts/{external_id}"
        headers = {"Authorization": f"Bearer {ctx.tokens.access_token}"}
        response = await platform.send("DELETE", url, ctx=ctx, headers=headers)
        platform.raise_for_status(response)

    return delete


@pytest.mark.parametrize("plugin_maps_404", [True, False], ids=["plugin-ignores-404", "core-reads-404"])
def test_a_part_already_gone_counts_as_deleted(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    fake: Any,
    monkeypatch: pytest.MonkeyPatch,
    plugin_maps_404: bool,
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Root", ["Reply gone already"])
    target = _targets(ocma, post_id)[account_id]
    with fake.lock:  # the user deleted the reply on the platform itself
        del fake.state.posts[target.part_ids[1]]
    if not plugin_maps_404:
        platform = get_platform("fakesocial")
        monkeypatch.setattr(platform, "delete", _delete_without_404_handling(platform))

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert (result.status, result.parts_deleted) == ("deleted", 2)
    assert fake.published_texts() == []
    assert _targets(ocma, post_id)[account_id].status is TargetStatus.DELETED
    outcomes = sorted(a.outcome for a in _attempts(ocma, target.id))
    assert outcomes == (["ok", "ok"] if plugin_maps_404 else ["gone", "ok"])


def test_expired_token_is_refreshed_then_the_post_deleted(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Token test", [])
    with ocma.session() as s:
        version = s.get(Account, account_id).token_version  # type: ignore[union-attr]
    fake.expire_tokens()

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert result.status == "deleted", result.reason
    assert fake.published_texts() == []
    with ocma.session() as s:
        assert s.get(Account, account_id).token_version == version + 1  # type: ignore[union-attr]
    calls = fake.requests_to("DELETE", r"/v1/posts/\d+")
    assert len(calls) == 2  # refused once with the expired token, then done with the new one


def test_rate_limit_fails_with_the_time_to_try_again_and_spends_the_budget(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Rate limited", ["part two"])
    fake.fail_next_delete("rate_limit", retry_after_s=120)
    before = utcnow()

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert result.status == "failed" and "try again after" in result.reason
    assert result.retry_at is not None
    assert before + timedelta(seconds=100) < result.retry_at < before + timedelta(seconds=140)
    assert result.parts_deleted == 0 and len(fake.published_texts()) == 2
    target = _targets(ocma, post_id)[account_id]
    assert target.status is TargetStatus.PUBLISHED
    assert [a.outcome for a in _attempts(ocma, target.id)] == ["RateLimited"]
    calls = fake.state.delete_calls

    [again] = delete_published_sync(ocma, workspace_id, post_id)

    assert again.status == "failed" and "rate budget for deletes is spent" in again.reason
    assert fake.state.delete_calls == calls  # the budget kept the call from being made


def test_unconfirmed_thread_found_by_lookup_keeps_every_part_id(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_platform("fakesocial"), "request_timeout_s", 0.5)
    fake.fail_next("timeout_after_store")  # the first part lands, its answer is lost
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Lost answer", ["second", "third"])
    target = _targets(ocma, post_id)[account_id]
    assert ("find_published", "ok") in [
        (a.action, a.outcome) for a in _attempts(ocma, target.id, "find_published")
    ]
    assert sorted(fake.published_texts()) == ["Lost answer", "second", "third"]  # none twice
    assert len(target.part_ids) == 3

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert (result.status, result.parts_deleted) == ("deleted", 3)
    assert fake.published_texts() == []


def test_nothing_published_is_a_conflict_with_a_fix(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    draft = posts.create_post(ocma, workspace_id, PostInput(body="Only a draft", account_ids=[account_id]))

    with pytest.raises(ConflictError) as info:
        delete_published_sync(ocma, workspace_id, draft.id)

    assert "Nothing of post" in info.value.message and "cancel" in (info.value.fix or "")
    assert posts.get_post(ocma, workspace_id, draft.id).status is PostStatus.DRAFT


def test_unknown_post_account_or_workspace_is_not_found(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    from ocma_core.services.workspaces import create_workspace

    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Mine", [])
    elsewhere = create_workspace(ocma, "Other team").id
    for ws, post, accounts in (
        (workspace_id, "nope", None),
        (elsewhere, post_id, None),
        (workspace_id, post_id, ["not-an-account"]),
    ):
        with pytest.raises(NotFoundError):
            delete_published_sync(ocma, ws, post, account_ids=accounts)
    assert fake.published_texts() == ["Mine"]


def test_deleted_post_cannot_be_cancelled_or_deleted_again(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Once", [])
    delete_published_sync(ocma, workspace_id, post_id)

    with pytest.raises(ConflictError) as info:
        delete_published_sync(ocma, workspace_id, post_id)
    assert "already deleted" in (info.value.fix or "")
    with pytest.raises(ConflictError):
        posts.cancel_post(ocma, workspace_id, post_id)
    assert posts.list_posts(ocma, workspace_id, status="deleted")[0].id == post_id


def test_targets_published_before_migration_0005_delete_their_first_part_and_say_so(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    from ocma_core.db.migrate import downgrade, upgrade

    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Old thread", ["old reply"])
    try:  # back to before part ids were kept (the target has attempts pointing at it), then forward again
        downgrade(ocma.engine, "0004")
        upgrade(ocma.engine)
    finally:
        upgrade(ocma.engine)  # never leave the shared test database behind head
    target = _targets(ocma, post_id)[account_id]
    assert target.part_ids == [] and target.external_id is not None

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert (result.status, result.parts_deleted) == ("deleted", 1)
    assert "delete the rest of the thread (1 more part) on fakesocial itself" in result.reason
    assert fake.published_texts() == ["old reply"]  # its id was never recorded: OCMA cannot reach it


@pytest.mark.parametrize("failures", [1, 3], ids=["passing-5xx", "lasting-5xx"])
def test_a_passing_platform_failure_is_asked_again(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    fake: Any,
    monkeypatch: pytest.MonkeyPatch,
    failures: int,
) -> None:
    from ocma_core.services import deletion

    monkeypatch.setattr(deletion, "RETRY_WAITS_S", (0.01, 0.01))
    post_id = publish_and_wait(ocma, workspace_id, [account_id], "Flaky platform")
    target = _targets(ocma, post_id)[account_id]
    for _ in range(failures):
        fake.fail_next_delete("server_error")
    [result] = delete_published_sync(ocma, workspace_id, post_id)
    outcomes = [a.outcome for a in sorted(_attempts(ocma, target.id), key=lambda a: a.started_at)]
    if failures == 1:  # asked again at once, and deleted
        assert result.status == "deleted" and fake.published_texts() == []
        assert outcomes == ["Transient", "ok"]
    else:  # three answers in a row: the person is told to try again, nothing is claimed
        assert result.status == "failed" and "try again" in result.reason
        assert fake.published_texts() == ["Flaky platform"] and outcomes == ["Transient"] * 3
        assert _targets(ocma, post_id)[account_id].status is TargetStatus.PUBLISHED
