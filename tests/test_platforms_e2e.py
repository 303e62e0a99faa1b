"""X, LinkedIn, Bluesky and Mastodon end to end: connect as a user would, schedule, and let the engine publish.

Every test registers the real plugin, points the registry's platform instance at the plugin's own fake
(OCMA_<NAME>_* variables), connects through ocma_core.services.accounts and publishes with the real worker.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from platform_fakes_support import FAKES, Held, PlatformFake, fake_bluesky
from sqlmodel import select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, PostStatus, PublishAttempt, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts, posts
from ocma_core.services.post_input import PostInput

TERMINAL = (TargetStatus.PUBLISHED, TargetStatus.FAILED, TargetStatus.HELD)


@dataclass
class Live:
    """A platform's fake, running, with an account connected to it through the core."""

    spec: PlatformFake
    fake: Any
    account_id: str

    def held(self) -> list[Held]:
        """What the fake holds now, oldest first."""
        return self.spec.held(self.fake)


@pytest.fixture
def live(
    request: pytest.FixtureRequest,
    ocma: Ocma,
    workspace_id: str,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Live]:
    """The plugin named by the test's parameter, its fake started and an account connected."""
    from ocma_core.registry import clear_caches

    spec = FAKES[request.param]
    plugin_host.register(importlib.import_module(spec.plugin), name=spec.plugin)
    with spec.make() as fake:
        for key, value in spec.env(fake, tmp_path / "plugin-data").items():
            monkeypatch.setenv(key, value)
        clear_caches()
        try:
            yield Live(spec, fake, spec.connect(ocma, workspace_id, fake))
        finally:
            clear_caches()


def _post(ocma: Ocma, workspace_id: str, live: Live, text: str, **kw: Any) -> str:
    data = PostInput(body=text, account_ids=[live.account_id], action=kw.pop("action", "publish_now"), **kw)
    return posts.create_post(ocma, workspace_id, data).id


def _target(ocma: Ocma, post_id: str) -> Target:
    return posts.targets_of(ocma, post_id)[0]


def _run_until_terminal(ocma: Ocma, post_id: str, timeout: float = 90.0) -> Target:
    run_worker(ocma, lambda: _target(ocma, post_id).status in TERMINAL, timeout=timeout)
    return _target(ocma, post_id)


def _attempts(ocma: Ocma, target_id: str) -> list[tuple[str, str]]:
    with ocma.session() as s:
        rows = s.exec(
            select(PublishAttempt)
            .where(PublishAttempt.target_id == target_id)
            .order_by(PublishAttempt.started_at)  # type: ignore[arg-type]
        )
        return [(a.action, a.outcome) for a in rows]


ALL = ["x", "linkedin", "bluesky", "mastodon"]
THREADS = ["x", "bluesky", "mastodon"]


@pytest.mark.parametrize("live", ALL, indirect=True)
def test_connected_account_gets_scheduled_post_published(ocma: Ocma, workspace_id: str, live: Live) -> None:
    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert account is not None
        assert account.platform == live.spec.name and account.status is AccountStatus.CONNECTED
        assert account.external_id and account.handle
    text = f"Scheduled for {live.spec.name} by OCMA"
    when = utcnow() + timedelta(seconds=1)
    post_id = _post(ocma, workspace_id, live, text, action="schedule", scheduled_at=when)
    assert _target(ocma, post_id).status is TargetStatus.QUEUED
    assert live.held() == []

    target = _run_until_terminal(ocma, post_id)

    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert target.attempts == 1
    assert target.published_at is not None and target.published_at >= when
    held = live.held()
    assert [h.text for h in held] == [text]  # exactly one post, no duplicate
    assert target.external_id == held[0].external_id
    assert target.url == live.spec.post_url(live.fake, held[0].external_id)
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED


@pytest.mark.parametrize("live", THREADS, indirect=True)
def test_thread_is_published_as_a_reply_chain(ocma: Ocma, workspace_id: str, live: Live) -> None:
    parts = [f"1/3 A thread on {live.spec.name}", "2/3 the middle part", "3/3 and the end"]
    post_id = _post(ocma, workspace_id, live, parts[0], thread=parts[1:])

    target = _run_until_terminal(ocma, post_id)

    assert target.status is TargetStatus.PUBLISHED, target.last_error
    held = live.held()
    assert [h.text for h in held] == parts
    assert [h.reply_to for h in held] == [None, held[0].external_id, held[1].external_id]
    assert target.external_id == held[0].external_id  # the thread is addressed by its first post
    assert target.url == live.spec.post_url(live.fake, held[0].external_id)


#: X and Bluesky give the reset as whole epoch seconds, so 1 s could already be over when it is read.
RESET_S = {"x": 2.0, "linkedin": 1.0, "bluesky": 2.0, "mastodon": 1.0}


@pytest.mark.parametrize("live", ALL, indirect=True)
def test_rate_limit_waits_then_publishes_once(ocma: Ocma, workspace_id: str, live: Live) -> None:
    live.fake.fail_next("rate_limit", retry_after_s=RESET_S[live.spec.name])
    text = f"After {live.spec.name}'s rate limit"
    start = utcnow()
    post_id = _post(ocma, workspace_id, live, text)

    target = _run_until_terminal(ocma, post_id)

    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert target.attempts == 1  # the 429 did not burn an attempt
    assert target.published_at is not None
    assert (target.published_at - start).total_seconds() >= 0.9  # it waited for the platform's reset
    assert [h.text for h in live.held()] == [text]
    assert _attempts(ocma, target.id) == [("publish", "RateLimited"), ("publish", "ok")]


@pytest.mark.parametrize(
    ("live", "reason"),
    [
        ("x", "You are not allowed to create a Tweet with duplicate content."),
        ("linkedin", "Content is a duplicate of urn:li:share:"),
    ],
    indirect=["live"],
)
def test_duplicate_is_refused_with_the_platforms_reason(
    ocma: Ocma, workspace_id: str, live: Live, reason: str
) -> None:
    text = f"Said once on {live.spec.name}"
    first = _run_until_terminal(ocma, _post(ocma, workspace_id, live, text))
    assert first.status is TargetStatus.PUBLISHED, first.last_error

    post_id = _post(ocma, workspace_id, live, text)
    target = _run_until_terminal(ocma, post_id)

    assert target.status is TargetStatus.FAILED
    assert target.attempts == 1  # a rejection is permanent: no retry
    assert reason in (target.last_error or "")
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.FAILED
    assert [h.text for h in live.held()] == [text]


@pytest.mark.parametrize("live", ["mastodon"], indirect=True)
def test_revoked_mastodon_token_holds_until_reconnected(ocma: Ocma, workspace_id: str, live: Live) -> None:
    live.fake.expire_tokens()  # Mastodon tokens end only by revocation; there is no refresh token
    text = "Waits for the reconnect"
    post_id = _post(ocma, workspace_id, live, text)

    target = _run_until_terminal(ocma, post_id)

    assert target.status is TargetStatus.HELD
    with ocma.session() as s:
        account = s.get(Account, live.account_id)
        assert account is not None and account.status is AccountStatus.NEEDS_RECONNECT
    assert live.held() == []

    assert live.spec.connect(ocma, workspace_id, live.fake) == live.account_id  # same account, new token
    posts.retry_post(ocma, workspace_id, post_id)
    target = _run_until_terminal(ocma, post_id)
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    assert [h.text for h in live.held()] == [text]
    assert target.url == live.spec.post_url(live.fake, live.held()[0].external_id)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no engine, no database difference
@pytest.mark.parametrize("live", ["bluesky"], indirect=True)
def test_bluesky_connects_with_handle_and_app_password_only(
    ocma: Ocma, workspace_id: str, live: Live
) -> None:
    fields = {"handle": fake_bluesky.HANDLE, "app_password": fake_bluesky.APP_PASSWORD}
    account = asyncio.run(accounts.connect_with_credentials(ocma, workspace_id, "bluesky", fields))
    assert account.id == live.account_id  # the same account as the one connected naming the service


@pytest.mark.parametrize("live", ["mastodon"], indirect=True)
def test_mastodon_connects_any_instance_and_publishes_there(
    ocma: Ocma, workspace_id: str, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default instance is one fake; the account connects to another one given at connect time."""
    from platform_fakes_support import fake_mastodon

    from ocma_core.services.post_input import PostInput

    with fake_mastodon.FakeMastodon() as other:
        url = accounts.start_connect(ocma, workspace_id, "mastodon", params={"instance": other.base_url})
        assert url.startswith(other.base_url + "/oauth/authorize")
        code, state = other.authorize(url)
        account = asyncio.run(accounts.complete_connect(ocma, "mastodon", state=state, code=code))
        assert account.settings["instance"].rstrip("/") == other.base_url
        data = PostInput(body="Hello from another server", account_ids=[account.id], action="publish_now")
        post = posts.create_post(ocma, workspace_id, data)
        run_worker(ocma, lambda: posts.targets_of(ocma, post.id)[0].status.value in ("published", "failed"))
        assert posts.targets_of(ocma, post.id)[0].status.value == "published"
        assert [s["text"] for s in other.statuses.values()] == ["Hello from another server"]


def _short_timeout(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fakes answer a "timeout_after_store" after 5 s; the plugin gives up after 0.5 s."""
    from ocma_core.registry import get_platform

    monkeypatch.setattr(get_platform(live.spec.name), "request_timeout_s", 0.5)


def _assert_whole_thread(live: Live, target: Target, parts: list[str]) -> None:
    assert target.status is TargetStatus.PUBLISHED, target.last_error
    held = live.held()
    assert [h.text for h in held] == parts  # each part once, in order
    assert [h.reply_to for h in held] == [None, held[0].external_id, held[1].external_id]
    assert target.part_ids == [h.external_id for h in held]


@pytest.mark.parametrize("live", THREADS, indirect=True)
def test_a_thread_whose_reply_was_lost_is_published_whole_once(
    ocma: Ocma, workspace_id: str, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_timeout(live, monkeypatch)
    live.fake.fail_next("timeout_after_store", skip=1)  # part 2 is stored, its answer never arrives
    parts = [f"1/3 Lost reply on {live.spec.name}", "2/3 stored, answer lost", "3/3 still posted"]
    post_id = _post(ocma, workspace_id, live, parts[0], thread=parts[1:])

    target = _run_until_terminal(ocma, post_id, timeout=30)

    _assert_whole_thread(live, target, parts)
    assert _attempts(ocma, target.id)[0] == ("publish", "Unconfirmed")


@pytest.mark.parametrize("live", ["mastodon"], indirect=True)
def test_mastodon_looks_up_once_its_idempotency_keys_are_forgotten(
    ocma: Ocma, workspace_id: str, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mastodon keeps an Idempotency-Key for 1 h; after that, posting again would duplicate the parts out."""
    _short_timeout(live, monkeypatch)
    live.fake.fail_next("timeout_after_store", skip=1)
    parts = ["1/3 Keys expire", "2/3 stored, answer lost", "3/3 posted once"]
    post_id = _post(ocma, workspace_id, live, parts[0], thread=parts[1:])
    run_worker(ocma, lambda: _target(ocma, post_id).status is TargetStatus.UNCONFIRMED, timeout=15)
    with ocma.session() as s:  # as the target looks two hours later, with the instance's keys gone
        row = s.get(Target, _target(ocma, post_id).id)
        assert row is not None and row.unconfirmed_since is not None
        row.unconfirmed_since = row.unconfirmed_since - timedelta(hours=2)
        row.due_at = utcnow()
        s.add(row)
    live.fake.forget_idempotency_keys()

    target = _run_until_terminal(ocma, post_id, timeout=30)

    _assert_whole_thread(live, target, parts)
    actions = [a for a, _ in _attempts(ocma, target.id)]
    assert actions == ["publish", "find_published", "continue_thread"]
