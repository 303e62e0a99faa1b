"""Calls are capped per host: hanging creates on one Mastodon instance never hold up another instance."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from platform_fakes_support import fake_mastodon
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import TargetStatus
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts, posts
from ocma_core.services.post_input import PostInput

SLOW_POSTS, FAST_POSTS = 100, 20  # 10 hanging creates: more than one host's 8 slots


@pytest.fixture
def instances(
    plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Any, Any]]:
    """Two Mastodon servers with the real plugin pointed at the first by default."""
    import ocma_mastodon

    from ocma_core.registry import clear_caches

    plugin_host.register(ocma_mastodon, name="ocma_mastodon")
    with fake_mastodon.FakeMastodon() as slow, fake_mastodon.FakeMastodon() as fast:
        fast.account["id"] = "109000000000000002"  # two people, two servers
        monkeypatch.setenv("OCMA_MASTODON_API_BASE", slow.base_url)
        monkeypatch.setenv("OCMA_DATA_DIR", str(tmp_path / "plugin-data"))
        monkeypatch.setenv("OCMA_MASTODON_TIMEOUT_S", "120")  # a hanging call stays in flight
        clear_caches()
        try:
            yield slow, fast
        finally:
            slow.release()
            clear_caches()


def _connect(ocma: Ocma, workspace_id: str, server: Any) -> str:
    fields = {"instance": server.base_url, "access_token": server.issue_token()}
    return asyncio.run(accounts.connect_with_credentials(ocma, workspace_id, "mastodon", fields)).id


def _create(ocma: Ocma, workspace_id: str, account_id: str, label: str, count: int) -> list[str]:
    return [
        posts.create_post(
            ocma, workspace_id, PostInput(body=f"{label} {i}", account_ids=[account_id], action="publish_now")
        ).id
        for i in range(count)
    ]


def _published(ocma: Ocma, ids: list[str]) -> bool:
    return all(posts.targets_of(ocma, i)[0].status is TargetStatus.PUBLISHED for i in ids)


def test_hanging_instance_does_not_hold_up_another(
    ocma: Ocma, workspace_id: str, instances: tuple[Any, Any]
) -> None:
    slow, fast = instances
    slow_account, fast_account = _connect(ocma, workspace_id, slow), _connect(ocma, workspace_id, fast)
    assert slow_account != fast_account
    slow.hang_creates(every=10)  # 10% of the creates on the slow instance hang
    slow_ids = _create(ocma, workspace_id, slow_account, "Slow", SLOW_POSTS)
    fast_ids = _create(ocma, workspace_id, fast_account, "Fast", FAST_POSTS)
    seen: dict[str, int] = {}
    # A safety valve only (never asserted on): before the fix the fast posts waited behind the hanging calls,
    # and the run must still end.
    valve = threading.Timer(25.0, slow.release)
    valve.start()

    def fast_done_while_slow_hangs() -> bool:
        if not _published(ocma, fast_ids):
            return False
        with slow.lock:
            seen["hanging"] = slow.hanging
        slow.release()
        return True

    try:
        run_worker(ocma, fast_done_while_slow_hangs, timeout=40, concurrency=32)
    finally:
        valve.cancel()
    assert seen.get("hanging", 0) > 0  # the fast instance's posts all went out while slow calls hung
    assert sorted(fast.published_texts()) == sorted(f"Fast {i}" for i in range(FAST_POSTS))

    run_worker(ocma, lambda: _published(ocma, slow_ids), timeout=40, concurrency=32)
    assert _published(ocma, slow_ids)
    texts = slow.published_texts()
    assert len(texts) == len(set(texts)) == SLOW_POSTS  # the hung calls were answered once, never repeated


def test_connect_timeout_is_separate_from_the_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocma_mastodon import MastodonPlatform

    env = {"OCMA_MASTODON_TIMEOUT_S": "90", "OCMA_MASTODON_CONNECT_TIMEOUT_S": "3"}
    platform = MastodonPlatform(env=env)

    async def timeouts() -> tuple[float | None, float | None, float | None]:
        client = platform.http()
        try:
            return client.timeout.connect, client.timeout.read, client.timeout.write
        finally:
            await platform.aclose()

    assert asyncio.run(timeouts()) == (3.0, 90.0, 90.0)
    assert MastodonPlatform(env={}).connect_timeout_s == 5.0
    assert platform.host_of({"instance": "https://social.example"}) == "https://social.example"


def test_an_operator_sets_a_platforms_calls_per_host() -> None:
    """OCMA_<PLATFORM>_MAX_CONCURRENCY replaces the plugin's cap for that platform's hosts (not the class's)."""
    from ocma_mastodon import MastodonPlatform

    from ocma_core.engine.runtime import Runtime

    platform = MastodonPlatform(env={"OCMA_MASTODON_MAX_CONCURRENCY": " 3 "})
    assert platform.max_concurrency == 3 and MastodonPlatform.max_concurrency == 8
    assert MastodonPlatform(env={}).max_concurrency == 8

    async def slots_until_full() -> int:
        sem = Runtime(worker_id="w").semaphore(platform, "https://social.example")
        taken = 0
        while not sem.locked():
            await sem.acquire()
            taken += 1
        return taken

    assert asyncio.run(slots_until_full()) == 3


@pytest.mark.parametrize("value", ["0", "-2", "many", "1025", "2.5"])
def test_a_bad_calls_per_host_setting_is_refused_by_name(value: str) -> None:
    from ocma_mastodon import MastodonPlatform

    from ocma_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"OCMA_MASTODON_MAX_CONCURRENCY .*from 1 to 1024") as caught:
        MastodonPlatform(env={"OCMA_MASTODON_MAX_CONCURRENCY": value})
    assert "unset it for the plugin's 8" in str(caught.value.fix)


class _Capped:
    """A stand-in platform with two call slots per host."""

    name = "capped"
    max_concurrency = 2


def test_busy_host_waiters_are_woken_in_turn_without_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five tasks on a host with two slots: each waiter gets a slot when a call ends, oldest first, and none
    is sent back; no timer fires while calls keep ending."""
    from ocma_core.engine.runtime import Runtime

    runtime = Runtime(worker_id="w")
    order: list[int] = []

    async def one(i: int, release: asyncio.Event) -> None:
        slot = await runtime.host_slot(_Capped(), "h")  # type: ignore[arg-type]
        assert slot is not None
        order.append(i)
        await release.wait()
        runtime.end_call(_Capped(), "h", slot)  # type: ignore[arg-type]

    async def scenario() -> None:
        releases = [asyncio.Event() for _ in range(5)]
        tasks = [asyncio.create_task(one(i, releases[i])) for i in range(5)]
        await asyncio.sleep(0)
        assert order == [0, 1]
        for i in range(5):
            releases[i].set()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        assert not runtime.host_waiters["capped h"]  # nobody left queued

    asyncio.run(scenario())
    assert order == [0, 1, 2, 3, 4]


def test_hanging_host_sends_the_waiter_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """When no call of the host ends for INLINE_WAIT_S, a waiter gets None (the target goes back to the queue)
    and leaves the waiting line."""
    from ocma_core.engine import runtime as engine_runtime

    monkeypatch.setattr(engine_runtime, "INLINE_WAIT_S", 0.05)
    runtime = engine_runtime.Runtime(worker_id="w", claim_lease_s=60)

    async def scenario() -> tuple[object, object, object]:
        first = await runtime.host_slot(_Capped(), "h")  # type: ignore[arg-type]
        second = await runtime.host_slot(_Capped(), "h")  # type: ignore[arg-type]
        third = await runtime.host_slot(_Capped(), "h")  # type: ignore[arg-type]  # both slots hang
        return first, second, third

    first, second, third = asyncio.run(scenario())
    assert first is not None and second is not None and third is None
    assert not runtime.host_waiters["capped h"]


@pytest.mark.parametrize("failure", [None, "server_error"])
def test_the_host_slot_is_free_before_the_outcome_is_stored(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    fake: Any,
    monkeypatch: pytest.MonkeyPatch,
    failure: str | None,
) -> None:
    """A slot bounds calls in flight: the attempt gives it back before storing what the platform said, so a
    slow database write never keeps the host's next call waiting."""
    from ocma_core.engine import runtime as engine_runtime
    from ocma_core.engine import transitions

    held_at_finish: list[bool] = []
    real_finish = transitions.finish

    def finish(*args: Any, **kw: Any) -> bool:
        slot = engine_runtime.SLOT.get()  # the thread runs in a copy of the attempt's context
        assert slot is not None
        held_at_finish.append(slot.held)
        return real_finish(*args, **kw)

    monkeypatch.setattr(transitions, "finish", finish)
    if failure:
        fake.fail_next(failure)
    post_id = posts.create_post(
        ocma, workspace_id, PostInput(body="Slot", account_ids=[account_id], action="publish_now")
    ).id
    target = posts.targets_of(ocma, post_id)[0]
    ended = TargetStatus.QUEUED if failure else TargetStatus.PUBLISHED
    run_worker(ocma, lambda: posts.targets_of(ocma, post_id)[0].status is ended and bool(held_at_finish))
    assert posts.targets_of(ocma, post_id)[0].status is ended, target.id
    assert held_at_finish and not any(held_at_finish)


def test_claims_keep_pace_with_what_a_capped_host_can_send(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker with 32 publishes in flight and a host that takes 2 calls at a time keeps only a small batch of
    claimed targets waiting for the host's slots (claims beyond it would wait in this process while other
    workers idle), and still publishes every post once."""
    from ocma_example_platform import FakeSocialPlatform

    from ocma_core.engine.runtime import Runtime

    monkeypatch.setattr(FakeSocialPlatform, "max_concurrency", 2)
    fake.latency_s = 0.05
    waiting: list[int] = []  # claimed targets not yet in a slot, each time one gets its slot
    real_sent = Runtime.sent

    def sent(self: Runtime, target_id: str) -> None:
        waiting.append(len(self.unsent))
        real_sent(self, target_id)

    monkeypatch.setattr(Runtime, "sent", sent)
    ids = [
        posts.create_post(
            ocma, workspace_id, PostInput(body=f"Paced {i}", account_ids=[account_id], action="publish_now")
        ).id
        for i in range(40)
    ]
    run_worker(ocma, lambda: _published(ocma, ids), timeout=60, concurrency=32)
    assert _published(ocma, ids)
    assert sorted(fake.published_texts()) == sorted(f"Paced {i}" for i in range(40))
    # At most twice the worker's kept batch (4 for 32 in flight) waits; before, all 32 claimed at once did.
    assert 0 < max(waiting) <= 2 * 4, waiting
