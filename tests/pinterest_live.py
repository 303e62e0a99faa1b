"""`live`: the Pinterest plugin's fake (two boards) and OCMA's media server running, an account connected
through the core with `Spring recipes` as its default board (import it into a test module)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from live_server import live_server

from ocma_core.context import Ocma
from ocma_core.engine import pending
from ocma_core.plugins import PluginHost
from ocma_core.services import accounts

TESTS = Path(__file__).resolve().parents[1] / "plugins" / "platforms" / "pinterest" / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import fake_pinterest  # noqa: E402


@pytest.fixture
def live(
    ocma: Ocma, workspace_id: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[fake_pinterest.FakePinterest, str]]:
    """The fake (two boards), OCMA's media server, and an account connected with `Spring recipes` as default."""
    from ocma_core.api.app import create_app
    from ocma_core.registry import clear_caches

    plugin_host.register(importlib.import_module("ocma_pinterest"), name="ocma_pinterest")
    monkeypatch.setattr(pending, "FIRST_POLL", timedelta(milliseconds=50))
    monkeypatch.setattr(pending, "MAX_POLL", timedelta(milliseconds=100))
    with (
        fake_pinterest.FakePinterest(boards=2, video_polls=3) as fake,
        live_server(create_app(ocma, run_worker=False)) as public,
    ):
        monkeypatch.setattr(ocma.settings, "public_url", public)
        env = {
            "OCMA_PINTEREST_API_BASE": fake.api_base,
            "OCMA_PINTEREST_AUTH_BASE": fake.base_url,
            "OCMA_PINTEREST_CLIENT_ID": fake_pinterest.CLIENT_ID,
            "OCMA_PINTEREST_CLIENT_SECRET": fake_pinterest.CLIENT_SECRET,
            "OCMA_PINTEREST_TIMEOUT_S": "2",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        clear_caches()
        try:
            url = accounts.start_connect(ocma, workspace_id, "pinterest", params={"board": "spring recipes"})
            code, state = fake.authorize(url)
            account = asyncio.run(accounts.complete_connect(ocma, "pinterest", state=state, code=code))
            yield fake, account.id
        finally:
            clear_caches()
