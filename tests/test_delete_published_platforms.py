"""Deleting published posts through the core service with the real X, LinkedIn, Bluesky and Mastodon plugins,
each against its own fake: connect as a user would, publish with the worker, delete, and look at the fake."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from platform_fakes_support import FAKES, Held
from sqlmodel import select
from tests_support import publish_and_wait

from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, PublishAttempt, TargetStatus
from ocma_core.plugins import PluginHost
from ocma_core.services import posts
from ocma_core.services.deletion import delete_published_sync

THREADS = {"x": 3, "linkedin": 1, "bluesky": 3, "mastodon": 3}  # LinkedIn posts have no threads


@pytest.fixture
def live(
    request: pytest.FixtureRequest,
    ocma: Ocma,
    workspace_id: str,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[tuple[Any, str]]:
    """The parameter's plugin registered, its fake running and an account connected: (fake, account id)."""
    from ocma_core.registry import clear_caches

    spec = FAKES[request.param]
    plugin_host.register(importlib.import_module(spec.plugin), name=spec.plugin)
    with spec.make() as fake:
        for key, value in spec.env(fake, tmp_path / "plugin-data").items():
            monkeypatch.setenv(key, value)
        clear_caches()
        try:
            yield fake, spec.connect(ocma, workspace_id, fake)
        finally:
            clear_caches()


def _held(name: str, fake: Any) -> list[Held]:
    return FAKES[name].held(fake)


@pytest.mark.parametrize("live", list(THREADS), indirect=True)
def test_published_thread_is_deleted_from_the_platform(
    ocma: Ocma, workspace_id: str, live: tuple[Any, str], request: pytest.FixtureRequest
) -> None:
    fake, account_id = live
    name = request.node.callspec.params["live"]
    parts = [f"1/3 Deleting on {name}", "2/3 the middle", "3/3 the end"][: THREADS[name]]
    post_id = publish_and_wait(ocma, workspace_id, [account_id], parts[0], parts[1:])
    [target] = posts.targets_of(ocma, post_id)
    assert target.part_ids == [h.external_id for h in _held(name, fake)]  # every part, first part first

    [result] = delete_published_sync(ocma, workspace_id, post_id, by="test")

    assert (result.status, result.parts, result.parts_deleted) == ("deleted", len(parts), len(parts))
    assert _held(name, fake) == []  # really gone from the platform, every part
    [after] = posts.targets_of(ocma, post_id)
    assert after.status is TargetStatus.DELETED and after.url == target.url
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.DELETED
    with ocma.session() as s:
        attempts = s.exec(
            select(PublishAttempt).where(
                PublishAttempt.target_id == target.id, PublishAttempt.action == "delete"
            )
        ).all()
    assert [a.outcome for a in attempts] == ["ok"] * len(parts)


@pytest.mark.parametrize("live", ["x", "mastodon"], indirect=True)
def test_reply_deleted_on_the_platform_first_still_counts(
    ocma: Ocma, workspace_id: str, live: tuple[Any, str], request: pytest.FixtureRequest
) -> None:
    """X and Mastodon answer 404 for a post that is gone; the plugin (and the core) count it as deleted."""
    fake, account_id = live
    name = request.node.callspec.params["live"]
    post_id = publish_and_wait(ocma, workspace_id, [account_id], f"Root on {name}", ["reply"])
    [target] = posts.targets_of(ocma, post_id)
    with fake.lock:  # the user deleted the reply in the platform's own app
        store = fake.state.posts if name == "x" else fake.statuses
        del store[target.part_ids[1]]

    [result] = delete_published_sync(ocma, workspace_id, post_id)

    assert (result.status, result.parts_deleted) == ("deleted", 2), result.reason
    assert _held(name, fake) == []
