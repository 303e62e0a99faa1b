"""The litellm provider against loopback OpenAI and Anthropic fakes (the real litellm request and parsing path)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ocma_litellm.provider import LiteLLMText

from ocma_core.ai import AIRateLimited, AIUnavailable, ModelTarget, Price, TextRequest
from ocma_core.ai.testing.fake_anthropic import DEFAULT_KEY as ANTHROPIC_KEY
from ocma_core.ai.testing.fake_anthropic import FakeAnthropic
from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "schedule_post",
            "description": "Schedule a post.",
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "at": {"type": "string"}},
                "required": ["text"],
            },
        },
    }
]
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def provider() -> LiteLLMText:
    made = LiteLLMText()
    made.backoff_base_s = 0.01
    return made


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def target(fake: FakeOpenAI, model: str = "openai/gpt-4o-mini", **kw: object) -> ModelTarget:
    return ModelTarget(model=model, api_key=DEFAULT_KEY, api_base=fake.api_base, **kw)  # type: ignore[arg-type]


def test_tool_calls_are_returned_with_json_arguments(provider: LiteLLMText, openai: FakeOpenAI) -> None:
    openai.reply(
        None, tool_calls=[{"name": "schedule_post", "arguments": {"text": "Hi", "at": "2026-12-01T09:00"}}]
    )
    result = asyncio.run(
        provider.complete(TextRequest(HELLO, target(openai), tools=TOOLS, tool_choice="auto"))
    )
    assert result.finish_reason == "tool_calls" and result.text == ""
    [call] = result.tool_calls
    assert call["name"] == "schedule_post" and json.loads(call["arguments"]) == {
        "text": "Hi",
        "at": "2026-12-01T09:00",
    }
    sent = openai.chat_bodies()[0]
    assert sent["tools"][0]["function"]["name"] == "schedule_post" and sent["tool_choice"] == "auto"


def test_streamed_tool_calls_are_reassembled(provider: LiteLLMText, openai: FakeOpenAI) -> None:
    openai.reply(
        "Scheduling it.", tool_calls=[{"name": "schedule_post", "arguments": {"text": "Hello world"}}]
    )
    pieces: list[str] = []
    result = asyncio.run(
        provider.complete(TextRequest(HELLO, target(openai), tools=TOOLS, on_delta=pieces.append))
    )
    assert "".join(pieces) == "Scheduling it." == result.text
    assert json.loads(result.tool_calls[0]["arguments"]) == {"text": "Hello world"}


def test_anthropic_tool_use_and_system_prompt(provider: LiteLLMText) -> None:
    with FakeAnthropic() as fake:
        fake.reply(None, tool_calls=[{"name": "schedule_post", "arguments": {"text": "Hi"}}])
        request = TextRequest(
            [{"role": "system", "content": "You schedule posts."}, *HELLO],
            ModelTarget("anthropic/claude-haiku-4-5", ANTHROPIC_KEY, fake.base_url),
            tools=TOOLS,
        )
        result = asyncio.run(provider.complete(request))
        body = fake.bodies()[0]
    assert result.tool_calls[0]["name"] == "schedule_post" and result.cost_source == "litellm price table"
    assert body["tools"][0]["name"] == "schedule_post" and body["tools"][0]["input_schema"]["required"] == [
        "text"
    ]
    assert body["system"][0]["text"] == "You schedule posts."


def test_key_names_and_variables(provider: LiteLLMText) -> None:
    assert provider.key_name("openai/gpt-4o-mini") == "openai"
    assert provider.key_env_vars("anthropic/claude-haiku-4-5") == ("ANTHROPIC_API_KEY",)
    assert "GEMINI_API_KEY" in provider.key_env_vars("gemini/gemini-2.5-flash")
    assert (
        provider.key_name("ollama_chat/llama3.1") is None
        and provider.key_env_vars("ollama_chat/llama3.1") == ()
    )


def test_estimate_bounds_the_real_cost(provider: LiteLLMText, openai: FakeOpenAI) -> None:
    openai.reply("A short answer.")
    request = TextRequest(HELLO, target(openai), max_tokens=200)
    estimate = provider.estimate_cost(request)
    result = asyncio.run(provider.complete(request))
    assert estimate is not None and result.cost_usd is not None and 0 < result.cost_usd <= estimate
    priced = TextRequest(
        HELLO, target(openai, "openai/unknown-model", price=Price(1e-6, 2e-6)), max_tokens=100
    )
    import litellm

    prompt_tokens = litellm.token_counter(model="openai/unknown-model", messages=HELLO)
    assert provider.estimate_cost(priced) == pytest.approx(prompt_tokens * 1e-6 + 100 * 2e-6)
    assert provider.estimate_cost(TextRequest(HELLO, target(openai, "openai/unknown-model"))) is None


def test_timeout_and_rate_limit(provider: LiteLLMText, openai: FakeOpenAI) -> None:
    openai.fail_next("timeout", retry_after_s=2.0)
    with pytest.raises(AIUnavailable) as caught:
        asyncio.run(provider.complete(TextRequest(HELLO, target(openai), timeout_s=0.5, max_retries=0)))
    assert "did not answer in time" in caught.value.message
    openai.fail_next("rate_limit", count=3, retry_after_s=0.01)
    with pytest.raises(AIRateLimited) as limited:
        asyncio.run(provider.complete(TextRequest(HELLO, target(openai))))
    assert "Rate limit reached" in limited.value.message and limited.value.status_code == 429


def test_importing_the_plugin_does_not_import_litellm() -> None:
    code = "import sys, ocma_litellm, ocma_litellm.provider, ocma_litellm.errors; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
