"""pytest fixtures for AI tests: started fakes, a plugin host with the AI plugins, a configured workspace.

Import the fixtures into a test module (`from ai_fixtures import ai_host, ...  # noqa: F401`). They live with
the repository's tests, not in ocma_core, because they name the bundled plugins (the core never imports one).
They build on the `ocma`, `workspace_id` and `plugin_host` fixtures of the repository's tests/conftest.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from ocma_core.ai.testing.fake_anthropic import FakeAnthropic
from ocma_core.ai.testing.fake_openai import DEFAULT_KEY as OPENAI_KEY
from ocma_core.ai.testing.fake_openai import FakeOpenAI
from ocma_core.ai.testing.fake_runware import FakeRunware
from ocma_core.ai.testing.fake_stability import FakeStability

AI_PLUGINS = {
    "litellm": "ocma_litellm",
    "openai-images": "ocma_openai_images",
    "stability": "ocma_stability",
    "runware": "ocma_runware",
}
PLATFORM_PLUGINS = {
    "x": "ocma_x",
    "linkedin": "ocma_linkedin",
    "bluesky": "ocma_bluesky",
    "mastodon": "ocma_mastodon",
}
ENV_TO_CLEAR = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_API_BASE",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "STABILITY_API_KEY",
    "RUNWARE_API_KEY",
    "OCMA_MODEL",
    "OCMA_MODEL_API_BASE",
    "OCMA_MODEL_API_KEY",
    "OCMA_MODEL_FALLBACKS",
    "OCMA_IMAGE_PROVIDER",
    "OCMA_IMAGE_MODEL",
    "OCMA_AI_CACHE_TTL_S",
    "OCMA_OPENAI_IMAGES_API_BASE",
    "OCMA_STABILITY_API_BASE",
    "OCMA_RUNWARE_API_BASE",
)


def register_plugins(host: Any, modules: dict[str, str]) -> list[str]:
    """Register each importable plugin module on `host`; returns the names registered."""
    from ocma_core.registry import clear_caches

    done = []
    for name, module_name in modules.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if not host.pm.has_plugin(name):
            host.register(module, name=name)
        done.append(name)
    clear_caches()
    return done


@pytest.fixture
def ai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key, model or endpoint leaks in from the developer's environment; fast retries."""
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from ocma_core.ai.cache import _memory

    _memory.clear()
    try:
        from ocma_litellm.provider import LiteLLMText

        monkeypatch.setattr(LiteLLMText, "backoff_base_s", 0.01)
    except ImportError:
        pass
    for module_name, cls_name in (
        ("ocma_openai_images.provider", "OpenAIImages"),
        ("ocma_stability.provider", "StabilityImages"),
        ("ocma_runware.provider", "RunwareImages"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        monkeypatch.setattr(getattr(module, cls_name), "backoff_base_s", 0.01)


@pytest.fixture
def ai_host(plugin_host: Any, ai_env: None) -> Any:
    """The test plugin host plus the AI plugins and the X, LinkedIn, Bluesky and Mastodon plugins."""
    register_plugins(plugin_host, AI_PLUGINS)
    register_plugins(plugin_host, PLATFORM_PLUGINS)
    return plugin_host


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started OpenAI fake."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A started Anthropic fake."""
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def fake_stability() -> Iterator[FakeStability]:
    """A started Stability fake."""
    with FakeStability() as server:
        yield server


@pytest.fixture
def fake_runware() -> Iterator[FakeRunware]:
    """A started Runware fake."""
    with FakeRunware() as server:
        yield server


@pytest.fixture
def ai_workspace(ocma: Any, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI) -> str:
    """A workspace whose model is openai/gpt-4o-mini on the OpenAI fake, key stored encrypted."""
    from ocma_core.ai.settings import set_key, update_ai_settings

    update_ai_settings(ocma, workspace_id, {"model": "openai/gpt-4o-mini", "api_base": fake_openai.api_base})
    set_key(ocma, workspace_id, "openai", OPENAI_KEY)
    return workspace_id
