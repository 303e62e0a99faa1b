# ruff: noqa: F811  (pytest fixtures imported from ai_fixtures)
"""Finding "operator secrets leave through workspace settings": operator-level AI keys go only to endpoints the
operator configured; a workspace that chooses its own endpoint uses its own key, and what that endpoint (or any
provider) names as an image URL is fetched only through the guard."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ai_fixtures import ai_env, ai_host, fake_openai  # noqa: F401
from sqlmodel import select

from ocma_core.ai import AIBadOutput, AINotConfigured
from ocma_core.ai.service import complete_text, generate_image
from ocma_core.ai.settings import set_key, update_ai_settings
from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI
from ocma_core.context import Ocma
from ocma_core.db.models import Media
from ocma_core.errors import ValidationFailed

OPERATOR_KEY = "sk-operator-secret-0001"
HELLO = [{"role": "user", "content": "hi"}]


def _bearers(fake: FakeOpenAI) -> list[str | None]:
    return [r.bearer() for r in fake.requests]


def test_the_operator_text_key_never_goes_to_a_workspace_endpoint(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_MODEL_API_KEY", OPERATOR_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPERATOR_KEY)
    update_ai_settings(ocma, workspace_id, {"model": "openai/gpt-4o-mini", "api_base": fake_openai.api_base})
    with pytest.raises(AINotConfigured) as caught:
        asyncio.run(complete_text(ocma, workspace_id, HELLO))
    assert "own endpoint" in caught.value.message
    assert OPERATOR_KEY not in _bearers(fake_openai)


def test_a_workspace_endpoint_gets_the_workspace_key(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_MODEL_API_KEY", OPERATOR_KEY)
    update_ai_settings(ocma, workspace_id, {"model": "openai/gpt-4o-mini", "api_base": fake_openai.api_base})
    set_key(ocma, workspace_id, "openai", DEFAULT_KEY)
    fake_openai.reply("hello")
    assert asyncio.run(complete_text(ocma, workspace_id, HELLO)).text == "hello"
    assert _bearers(fake_openai) == [DEFAULT_KEY]


def test_the_operator_image_key_never_goes_to_a_workspace_image_endpoint(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPERATOR_KEY)
    update_ai_settings(
        ocma, workspace_id, {"image_provider": "openai-images", "image_api_base": fake_openai.api_base}
    )
    with pytest.raises(AINotConfigured):
        asyncio.run(generate_image(ocma, workspace_id, "a cat"))
    assert OPERATOR_KEY not in _bearers(fake_openai)


def test_a_workspace_image_endpoint_on_an_internal_host_is_not_reached(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    update_ai_settings(
        ocma, workspace_id, {"image_provider": "openai-images", "image_api_base": fake_openai.api_base}
    )
    set_key(ocma, workspace_id, "openai", DEFAULT_KEY)
    with pytest.raises(ValidationFailed) as caught:
        asyncio.run(generate_image(ocma, workspace_id, "a cat"))
    assert "not a public address" in caught.value.message
    assert fake_openai.requests == []


def test_an_image_url_on_an_internal_host_is_not_fetched_or_stored(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's endpoint answers with a URL (DALL-E style); that URL is the provider's word and must be
    public: here it is on loopback, so it is not fetched and nothing is stored."""
    monkeypatch.delenv("OCMA_FETCH_ALLOW_PRIVATE", raising=False)
    monkeypatch.setenv("OCMA_OPENAI_IMAGES_API_BASE", fake_openai.api_base)
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    fake_openai.always_url = True
    update_ai_settings(ocma, workspace_id, {"image_provider": "openai-images", "image_model": "dall-e-3"})
    with pytest.raises(AIBadOutput) as caught:
        asyncio.run(generate_image(ocma, workspace_id, "a cat"))
    assert "not a public address" in caught.value.message
    assert fake_openai.requests_to("GET", r"/files/.*") == []
    with ocma.session() as session:
        assert session.exec(select(Media)).all() == []


@pytest.mark.parametrize("field", ["api_base", "image_api_base"])
@pytest.mark.parametrize("value", ["file:///etc/passwd", "http://user:pw@example.com/v1", "gopher://x/"])
def test_workspace_endpoints_must_be_plain_http_urls(
    ocma: Ocma, workspace_id: str, field: str, value: str
) -> None:
    with pytest.raises(ValidationFailed):
        update_ai_settings(ocma, workspace_id, {field: value})
