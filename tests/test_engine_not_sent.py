"""A failure on OCMA's side before any platform call is "not sent", with the real reason: never unconfirmed,
never eleven look-ups and "check the account" (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Notification, PublishAttempt, Target, TargetStatus
from ocma_core.errors import ConfigError
from ocma_core.plugins import PluginHost, reset_host
from ocma_core.registry import clear_caches, get_platform
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput

ENDED = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)


def _post(ocma: Ocma, workspace_id: str, account_id: str, text: str) -> str:
    data = PostInput(body=text, account_ids=[account_id], action="publish_now")
    return posts.create_post(ocma, workspace_id, data).id


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


def _publish(ocma: Ocma, post_id: str) -> Target:
    run_worker(ocma, lambda: _target(ocma, post_id).status in ENDED)
    return _target(ocma, post_id)


def _outcomes(ocma: Ocma, target_id: str) -> list[str]:
    with ocma.session() as s:
        rows = s.exec(select(PublishAttempt).where(PublishAttempt.target_id == target_id))
        return [a.outcome for a in rows]


def _never_unconfirmed(ocma: Ocma) -> None:
    with ocma.session() as s:
        assert "target.unconfirmed" not in [n.kind for n in s.exec(select(Notification))]


def test_unreadable_tokens_hold_the_target_with_the_reason(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = _post(ocma, workspace_id, account_id, "Encrypted with another key")
    wrong_key = Ocma(ocma.settings.model_copy(update={"encryption_keys": Fernet.generate_key().decode()}))
    target = _publish(wrong_key, post_id)
    assert target.status is TargetStatus.HELD
    assert (target.last_error or "").startswith("Not sent: Stored secrets cannot be decrypted")
    assert "ocma posts retry" in (target.last_error or "") and target.attempts == 0
    assert fake.published_texts() == []
    assert _outcomes(ocma, target.id) == ["not_sent"]
    _never_unconfirmed(ocma)

    posts.retry_post(ocma, workspace_id, post_id)  # the right key is back
    assert _publish(ocma, post_id).status is TargetStatus.PUBLISHED
    assert fake.published_texts() == ["Encrypted with another key"]


def test_a_missing_platform_plugin_fails_the_target_as_not_sent(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    post_id = _post(ocma, workspace_id, account_id, "No plugin")
    reset_host(PluginHost())  # the plugin was uninstalled (or disabled) before the post came due
    clear_caches()
    target = _publish(ocma, post_id)
    assert target.status is TargetStatus.FAILED
    assert (target.last_error or "").startswith("Not sent: Unknown platform 'fakesocial'")
    assert fake.published_texts() == []
    _never_unconfirmed(ocma)


def test_a_configuration_error_in_the_plugin_fails_the_target_as_not_sent(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = get_platform("fakesocial")

    async def unconfigured(ctx: Any, content: Any) -> Any:
        raise ConfigError("FakeSocial is not configured: OCMA_FAKESOCIAL_APP is not set.", fix="Set it.")

    monkeypatch.setattr(platform, "publish", unconfigured)
    post_id = _post(ocma, workspace_id, account_id, "Bad config")
    target = _publish(ocma, post_id)
    assert target.status is TargetStatus.FAILED
    assert (
        target.last_error == "Not sent: FakeSocial is not configured: OCMA_FAKESOCIAL_APP is not set. Set it."
    )
    assert _outcomes(ocma, target.id) == ["not_sent"]
    _never_unconfirmed(ocma)


def test_a_passing_local_failure_before_the_call_is_retried_not_looked_up(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from ocma_core.engine import refresh

    real = refresh.context_of  # the account's context, built just before the call
    calls: list[str] = []

    def flaky(ocma_: Ocma, account: Any) -> Any:
        calls.append(account.id)
        if len(calls) == 1:
            raise OperationalError("SELECT account", {}, Exception("database restarting"))
        return real(ocma_, account)

    monkeypatch.setattr(refresh, "context_of", flaky)
    post_id = _post(ocma, workspace_id, account_id, "After a hiccup")
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.PUBLISHED)
    target = _target(ocma, post_id)
    assert target.status is TargetStatus.PUBLISHED and fake.published_texts() == ["After a hiccup"]
    assert _outcomes(ocma, target.id) == ["not_sent", "ok"]  # no find_published look-up in between
    _never_unconfirmed(ocma)
