"""Slack bot test fixtures: the core's fixtures, the agent's scripted model, a fake Slack Web API, and the real
OCMA FastAPI app with this plugin registered."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent.parent
for extra in (HERE, ROOT, ROOT / "agent/tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from agent_model import KEY, MODEL, ScriptedModel  # noqa: E402
from fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack  # noqa: E402
from fake_socket_mode import FakeSocketMode  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from ocma_slack.socket_mode import PING_INTERVAL, SocketModeRunner  # noqa: E402
from slack_payloads import SECRET  # noqa: E402

from ocma_core.context import Ocma  # noqa: E402
from ocma_core.db.models import Member, Role  # noqa: E402
from ocma_core.plugins import PluginHost  # noqa: E402
from tests.conftest import *  # noqa: E402,F403

CHANNEL = "C0NOTIFY"


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, plugin_host: PluginHost) -> Iterator[ScriptedModel]:
    """The agent's scripted OpenAI-compatible model, reached through litellm."""
    import ocma_litellm
    from ocma_agent import tools

    from ocma_core.ai import registry as ai_registry

    plugin_host.register(ocma_litellm, name="litellm")
    ai_registry.clear()
    tools.clear()
    with ScriptedModel() as server:
        monkeypatch.setenv("OCMA_MODEL", MODEL)
        monkeypatch.setenv("OCMA_MODEL_API_BASE", server.api_base)
        monkeypatch.setenv("OCMA_MODEL_API_KEY", KEY)
        yield server
    ai_registry.clear()
    tools.clear()


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A fake Slack Web API, with the bot configured for one workspace against it."""
    from ocma_slack.runtime import forget_all

    with FakeSlack() as server:
        monkeypatch.setenv("OCMA_SLACK_BOT_TOKEN", BOT_TOKEN)
        monkeypatch.setenv("OCMA_SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("OCMA_SLACK_API_URL", server.api_url)
        monkeypatch.setenv("OCMA_SLACK_CHANNEL", CHANNEL)
        for user in ("U0ADMIN", "U0EDITOR", "U0STRANGER"):
            server.add_user(user, tz="America/New_York")
        forget_all()
        yield server
        forget_all()


@pytest.fixture
def members(ocma: Ocma, workspace_id: str) -> dict[str, str]:
    """An admin and an editor linked to Slack users."""
    with ocma.session() as session:
        for user, role in (("U0ADMIN", Role.ADMIN), ("U0EDITOR", Role.EDITOR)):
            session.add(
                Member(
                    workspace_id=workspace_id,
                    email=f"{user.lower()}@example.com",
                    role=role,
                    external_ids={"slack": user},
                )
            )
    return {"admin": "U0ADMIN", "editor": "U0EDITOR"}


@pytest.fixture
def web(ocma: Ocma, plugin_host: PluginHost, slack: FakeSlack) -> Iterator[TestClient]:
    """The real OCMA app with the Slack plugin registered (no embedded worker)."""
    import ocma_slack

    from ocma_core.api.app import create_app
    from ocma_core.registry import clear_caches

    plugin_host.register(ocma_slack, name="slack")
    clear_caches()
    with TestClient(create_app(ocma, run_worker=False)) as client:
        yield client


@pytest.fixture
def socket_mode(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSocketMode]:
    """Slack's Socket Mode end, reached through the fake's apps.connections.open; no signing secret set."""
    monkeypatch.setenv("OCMA_SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.delenv("OCMA_SLACK_SIGNING_SECRET")
    with FakeSocketMode() as server:
        slack.socket_mode = server
        yield server
        slack.socket_mode = None


@pytest.fixture
def ping_interval() -> float:
    """Seconds between the Socket Mode client's pings (and reconnect checks); tests of dropped links shorten it."""
    return PING_INTERVAL


@pytest.fixture
def socket_bot(
    ocma: Ocma, plugin_host: PluginHost, socket_mode: FakeSocketMode, ping_interval: float
) -> Iterator[SocketModeRunner]:
    """`ocma slack --socket` running in a background thread: connected, greeted, stopped afterwards."""
    import ocma_slack
    from ocma_slack.runtime import runtime_for

    plugin_host.register(ocma_slack, name="slack")
    runner = SocketModeRunner(runtime_for(ocma, socket=True), ping_interval=ping_interval)
    thread = threading.Thread(target=asyncio.run, args=(runner.run(),), daemon=True)
    thread.start()
    socket_mode.wait_connected()
    assert runner.connected.wait(5)
    yield runner
    runner.stop()
    thread.join(5)
    assert not thread.is_alive()
