"""An account is its id on one host: Mastodon accounts with the same id on two instances stay two accounts."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from platform_fakes_support import FAKES, fake_mastodon
from sqlalchemy import text
from sqlmodel import select
from tests_support import run_worker

from ocma_core.context import Ocma
from ocma_core.db.models import Account
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts, posts
from ocma_core.services.post_input import PostInput


@pytest.fixture
def instances(
    plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[list[Any]]:
    """Two FakeMastodon instances; their accounts have the same numeric id (109000000000000001)."""
    from ocma_core.registry import clear_caches

    spec = FAKES["mastodon"]
    plugin_host.register(importlib.import_module(spec.plugin), name=spec.plugin)
    with fake_mastodon.FakeMastodon() as one, fake_mastodon.FakeMastodon() as two:
        assert one.account["id"] == two.account["id"]
        for key, value in spec.env(one, tmp_path / "plugin-data").items():
            monkeypatch.setenv(key, value)
        clear_caches()
        yield [one, two]
        clear_caches()


def _connect(ocma: Ocma, workspace_id: str, instance: Any) -> Account:
    url = accounts.start_connect(ocma, workspace_id, "mastodon", params={"instance": instance.base_url})
    code, state = instance.authorize(url)
    return asyncio.run(accounts.complete_connect(ocma, "mastodon", state=state, code=code))


def test_same_account_id_on_two_instances_is_two_accounts(
    ocma: Ocma, workspace_id: str, instances: list[Any]
) -> None:
    one, two = instances
    first, second = _connect(ocma, workspace_id, one), _connect(ocma, workspace_id, two)

    assert first.id != second.id
    assert (first.host, second.host) == (urlsplit(one.base_url).netloc, urlsplit(two.base_url).netloc)
    with ocma.session() as s:
        assert len(s.exec(select(Account).where(Account.platform == "mastodon")).all()) == 2
    assert _connect(ocma, workspace_id, one).id == first.id  # reconnecting finds the same account

    data = PostInput(body="One post, two instances", account_ids=[first.id, second.id], action="publish_now")
    post = posts.create_post(ocma, workspace_id, data)
    run_worker(ocma, lambda: all(t.status.value == "published" for t in posts.targets_of(ocma, post.id)))
    assert [s["text"] for s in one.statuses.values()] == ["One post, two instances"]
    assert [s["text"] for s in two.statuses.values()] == ["One post, two instances"]


def test_migration_0009_gives_existing_mastodon_accounts_their_instance(
    ocma: Ocma, workspace_id: str, instances: list[Any]
) -> None:
    from ocma_core.db.migrate import downgrade, upgrade

    account = _connect(ocma, workspace_id, instances[0])
    try:
        downgrade(ocma.engine, "0008")  # the account table as it was, with the account in it
        with ocma.engine.begin() as conn:
            columns = [
                row[1] for row in conn.execute(text("SELECT * FROM account LIMIT 0")).cursor.description
            ]
        assert "host" not in columns
        upgrade(ocma.engine)
    finally:
        upgrade(ocma.engine)  # never leave the shared test database behind head
    with ocma.session() as s:
        row = s.get(Account, account.id)
        assert row is not None and row.host == urlsplit(instances[0].base_url).netloc
    assert _connect(ocma, workspace_id, instances[1]).id != account.id


def test_a_pasted_mastodon_token_connects_through_the_api(
    ocma: Ocma, workspace_id: str, instances: list[Any]
) -> None:
    """POST /v1/accounts with {instance, access_token}, as the plugin's README shows (no OAuth round trip)."""
    from fastapi.testclient import TestClient

    from ocma_core.api.app import create_app
    from ocma_core.services.workspaces import create_api_key

    one = instances[0]
    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role='admin').key}"}
    credentials = {"instance": one.base_url, "access_token": one.issue_token("read write")}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        answer = client.post(
            "/v1/accounts", headers=admin, json={"platform": "mastodon", "credentials": credentials}
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["handle"] == f"{fake_mastodon.USERNAME}@{urlsplit(one.base_url).netloc}"
