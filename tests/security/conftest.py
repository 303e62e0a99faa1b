"""Fixtures for the security suite: the agent's scripted model (reached through the real litellm path) and
helpers shared by the generated role and tenant tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

AGENT_TESTS = Path(__file__).resolve().parents[2] / "agent" / "tests"
for extra in (AGENT_TESTS, Path(__file__).parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from agent_model import KEY, MODEL, ScriptedModel  # noqa: E402

from ocma_core.context import Ocma  # noqa: E402
from ocma_core.plugins import PluginHost  # noqa: E402


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, plugin_host: PluginHost) -> Iterator[ScriptedModel]:
    """A scripted OpenAI-compatible model, configured as the workspace model via ocma-litellm."""
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


@pytest.fixture(scope="module")
def shared_ocma(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Ocma, str]]:
    """One OCMA on SQLite (with the example platform) and a workspace, shared by a module's generated tests
    whose checks do not depend on the database (hundreds of role-by-route or tool cases)."""
    import shutil

    import ocma_example_platform
    from cryptography.fernet import Fernet

    from ocma_core.config import Settings
    from ocma_core.db.engine import dispose_engines
    from ocma_core.plugins import reset_host
    from ocma_core.services.workspaces import create_workspace

    folder = tmp_path_factory.mktemp("shared")
    shutil.copy(sqlite_template, folder / "ocma.db")
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'ocma.db'}",
        encryption_keys=Fernet.generate_key().decode(),
        public_url="http://127.0.0.1:8000",
        weekly_report_at="off",
        _env_file=None,  # type: ignore[call-arg]
    )
    host = PluginHost()
    host.register(ocma_example_platform, name="ocma_example_platform")
    reset_host(host)
    ocma = Ocma(settings)
    workspace = create_workspace(ocma, "Shared", timezone="UTC", owner_email="owner@example.com")
    yield ocma, workspace.id
    reset_host(None)
    dispose_engines()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A test that calls configure_logging leaves a handler on a stream pytest closes; later in-process CLI
    calls then print '--- Logging error ---'. Put every logger back as it was."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {
        name: (lg.level, list(lg.handlers), lg.propagate)
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (lvl, hs, propagate) in named.items():
        lg = logging.getLogger(name)
        lg.setLevel(lvl)
        lg.handlers[:] = hs
        lg.propagate = propagate
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if name not in named and isinstance(lg, logging.Logger):
            lg.setLevel(logging.NOTSET)  # created during the test (e.g. LiteLLM's): no level left behind
    from ocma_core.registry import clear_caches

    clear_caches()  # a test that looked up platforms with no plugins loaded must not leave that cached
