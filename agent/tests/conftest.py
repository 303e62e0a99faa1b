"""Agent test fixtures: the core's fixtures (isolated OCMA on SQLite and PostgreSQL), a scripted model on
loopback reached through the real litellm path, and X and LinkedIn fakes when those plugins are installed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
for extra in (HERE, ROOT, ROOT / "plugins/platforms/x/tests", ROOT / "plugins/platforms/linkedin/tests"):
    if extra.is_dir() and str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from agent_model import KEY, MODEL, ScriptedModel  # noqa: E402

from ocma_core.plugins import PluginHost  # noqa: E402
from tests.conftest import *  # noqa: E402,F403  (ocma, workspace_id, plugin_host, fake, account_id, ...)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, plugin_host: PluginHost) -> Iterator[ScriptedModel]:
    """A scripted OpenAI-compatible model, configured as the workspace model (OCMA_MODEL) via ocma-litellm."""
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
def no_model(monkeypatch: pytest.MonkeyPatch, plugin_host: PluginHost) -> None:
    """No model configured (and no .env that could supply one)."""
    import ocma_litellm

    from ocma_core.ai import registry as ai_registry

    plugin_host.register(ocma_litellm, name="litellm")
    ai_registry.clear()
    for name in ("OCMA_MODEL", "OCMA_MODEL_API_BASE", "OCMA_MODEL_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(Path(__file__).parent)
