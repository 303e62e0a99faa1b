# ruff: noqa: F811  (pytest fixtures imported from ai_fixtures)
"""Text calls through the real litellm path to loopback OpenAI and Anthropic fakes: usage, cost, streaming,
retries, fallbacks, cache, and every bad-input case as a clear error."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ai_fixtures import (  # noqa: F401
    ai_env,
    ai_host,
    ai_workspace,
    fake_anthropic,
    fake_openai,
)
from sqlmodel import select

from ocma_core.ai import AIAuthFailed, AINotConfigured, AIRefused, AIUnavailable, AIUnknownModel
from ocma_core.ai.service import complete_text
from ocma_core.ai.settings import set_key, update_ai_settings
from ocma_core.ai.testing.fake_anthropic import DEFAULT_KEY as ANTHROPIC_KEY
from ocma_core.ai.testing.fake_openai import FakeOpenAI
from ocma_core.context import Ocma
from ocma_core.db.models import AIUsage

HELLO = [{"role": "user", "content": "Say hello"}]


def usage_rows(ocma: Ocma, workspace_id: str) -> list[AIUsage]:
    with ocma.session() as session:
        return list(session.exec(select(AIUsage).where(AIUsage.workspace_id == workspace_id)))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_completion_records_tokens_and_cost_from_litellm_price_table(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply("Hello there!")
    result = run(complete_text(ocma, ai_workspace, HELLO))
    assert result.text == "Hello there!"
    request = fake_openai.requests_to("POST", "/v1/chat/completions")[0]
    assert request.bearer() == "sk-test-openai-0123456789abcdef"
    assert request.json()["model"] == "gpt-4o-mini"
    [row] = usage_rows(ocma, ai_workspace)
    assert (
        (row.prompt_tokens, row.completion_tokens)
        == (result.prompt_tokens, result.completion_tokens)
        != (0, 0)
    )
    # gpt-4o-mini in litellm's bundled table: 0.15 USD / 1M input, 0.60 USD / 1M output tokens.
    assert row.cost_usd == pytest.approx(row.prompt_tokens * 1.5e-7 + row.completion_tokens * 6e-7)
    assert row.cost_source == "litellm price table"
    assert (row.provider, row.model, row.kind) == ("openai", "openai/gpt-4o-mini", "text")


def test_streaming_sse_delivers_pieces_and_usage(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply("A streamed answer that arrives in several pieces.")
    pieces: list[str] = []
    result = run(complete_text(ocma, ai_workspace, HELLO, on_delta=pieces.append, use_cache=False))
    assert (
        len(pieces) > 2
        and "".join(pieces) == result.text == "A streamed answer that arrives in several pieces."
    )
    body = fake_openai.chat_bodies()[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    [row] = usage_rows(ocma, ai_workspace)
    assert row.completion_tokens == result.completion_tokens > 0 and row.cost_usd is not None


def test_anthropic_through_its_env_variables(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_anthropic: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_BASE", fake_anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    update_ai_settings(ocma, workspace_id, {"model": "anthropic/claude-haiku-4-5"})
    fake_anthropic.reply("Bonjour from the fake Claude")
    result = run(complete_text(ocma, workspace_id, [{"role": "system", "content": "Be brief."}, *HELLO]))
    assert result.text == "Bonjour from the fake Claude" and result.provider == "anthropic"
    request = fake_anthropic.requests_to("POST", "/v1/messages")[0]
    assert request.header("x-api-key") == ANTHROPIC_KEY and request.header("anthropic-version")
    assert request.json()["system"][0]["text"] == "Be brief."
    fake_anthropic.reply("Streaming from the fake Claude")
    pieces: list[str] = []
    streamed = run(complete_text(ocma, workspace_id, HELLO, on_delta=pieces.append, use_cache=False))
    assert "".join(pieces) == streamed.text == "Streaming from the fake Claude"
    costs = [r.cost_source for r in usage_rows(ocma, workspace_id)]
    assert costs == ["litellm price table"] * 2


def test_no_key_configured_is_a_clear_error(
    ocma: Ocma, workspace_id: str, ai_host: Any, fake_openai: FakeOpenAI
) -> None:
    update_ai_settings(ocma, workspace_id, {"model": "openai/gpt-4o-mini", "api_base": fake_openai.api_base})
    with pytest.raises(AINotConfigured) as caught:
        run(complete_text(ocma, workspace_id, HELLO))
    assert "No API key for openai" in caught.value.message
    assert "ocma ai key openai" in (caught.value.fix_for("cli") or "") and "OPENAI_API_KEY" in (
        caught.value.fix or ""
    )
    assert "PUT /v1/ai/keys/openai" in (caught.value.fix_for("api") or "")
    assert fake_openai.requests == []


def test_no_model_configured(ocma: Ocma, workspace_id: str, ai_host: Any) -> None:
    with pytest.raises(AINotConfigured) as caught:
        run(complete_text(ocma, workspace_id, HELLO))
    assert "No AI model" in caught.value.message and "OCMA_MODEL" in (caught.value.fix or "")


def test_wrong_key_is_reported_with_the_providers_words(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    set_key(ocma, ai_workspace, "openai", "sk-wrong-key-1234")
    with pytest.raises(AIAuthFailed) as caught:
        run(complete_text(ocma, ai_workspace, HELLO))
    assert "Incorrect API key provided" in caught.value.message
    assert usage_rows(ocma, ai_workspace) == []


def test_unknown_model_names(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    update_ai_settings(ocma, ai_workspace, {"model": "gpt-nonexistent-9"})
    with pytest.raises(AIUnknownModel) as caught:
        run(complete_text(ocma, ai_workspace, HELLO))
    assert "litellm does not know" in caught.value.message and "openai/gpt-4o-mini" in (
        caught.value.fix or ""
    )
    assert fake_openai.requests == []
    fake_openai.models = {"gpt-4o-mini"}
    update_ai_settings(ocma, ai_workspace, {"model": "openai/gpt-9-imaginary"})
    with pytest.raises(AIUnknownModel) as caught:
        run(complete_text(ocma, ai_workspace, HELLO))
    assert "does not exist" in caught.value.message


def test_outage_is_retried_then_reported(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next("unavailable", count=5)
    with pytest.raises(AIUnavailable) as caught:
        run(complete_text(ocma, ai_workspace, HELLO))
    assert "overloaded" in caught.value.message and "(3 attempts)" in caught.value.message
    assert len(fake_openai.requests) == 3
    assert usage_rows(ocma, ai_workspace) == []


def test_transient_failures_are_retried(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next("server_error")
    fake_openai.fail_next("rate_limit", retry_after_s=0.05)
    fake_openai.reply("third time lucky")
    result = run(complete_text(ocma, ai_workspace, HELLO))
    assert result.text == "third time lucky" and result.attempts == 3
    assert len(usage_rows(ocma, ai_workspace)) == 1


def test_fallback_model_serves_when_primary_stays_down(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    update_ai_settings(ocma, ai_workspace, {"fallback_models": ["openai/gpt-4o"], "max_retries": 1})
    fake_openai.fail_next("unavailable", count=2)
    fake_openai.reply("from the fallback")
    result = run(complete_text(ocma, ai_workspace, HELLO))
    assert (result.text, result.model) == ("from the fallback", "openai/gpt-4o")
    assert [b["model"] for b in fake_openai.chat_bodies()] == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]
    [row] = usage_rows(ocma, ai_workspace)
    assert row.model == "openai/gpt-4o"


@pytest.mark.parametrize("kind", ["refusal", "content_filter", "content_policy"])
def test_unsafe_content_refusal(ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI, kind: str) -> None:
    fake_openai.fail_next(kind)
    with pytest.raises(AIRefused) as caught:
        run(complete_text(ocma, ai_workspace, HELLO))
    assert caught.value.status_code == 422 and "openai" in caught.value.message
    assert len(fake_openai.requests) == 1  # a refusal is not retried
    assert usage_rows(ocma, ai_workspace) == []


def test_identical_requests_are_served_from_the_cache(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.responder = lambda body: "cached answer"
    first = run(complete_text(ocma, ai_workspace, HELLO))
    second = run(complete_text(ocma, ai_workspace, HELLO))
    assert (first.cached, second.cached) == (False, True) and second.text == first.text
    assert len(fake_openai.requests) == 1 and len(usage_rows(ocma, ai_workspace)) == 1
    run(complete_text(ocma, ai_workspace, [{"role": "user", "content": "Something else"}]))
    assert len(fake_openai.requests) == 2
    update_ai_settings(ocma, ai_workspace, {"cache_ttl_s": 0})
    run(complete_text(ocma, ai_workspace, HELLO))
    assert len(fake_openai.requests) == 3


def test_redis_cache_is_shared_between_contexts(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    url = os.environ.get("OCMA_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("OCMA_TEST_REDIS_URL is not set")
        pytest.skip("redis not available: set OCMA_TEST_REDIS_URL")
    import redis

    redis.Redis.from_url(url).flushdb()
    fake_openai.responder = lambda body: "from redis"
    with_redis = Ocma(ocma.settings.model_copy(update={"redis_url": url}))
    assert not run(complete_text(with_redis, ai_workspace, HELLO)).cached
    other_process = Ocma(ocma.settings.model_copy(update={"redis_url": url}))
    from ocma_core.ai.cache import _memory

    _memory.clear()
    again = run(complete_text(other_process, ai_workspace, HELLO))
    assert again.cached and again.text == "from redis" and len(fake_openai.requests) == 1
    keys = redis.Redis.from_url(url).keys("ocma:ai-cache:*")
    assert len(keys) == 1 and 0 < redis.Redis.from_url(url).ttl(keys[0]) <= 24 * 3600


def test_configured_price_for_a_model_litellm_does_not_know(
    ocma: Ocma, ai_workspace: str, fake_openai: FakeOpenAI
) -> None:
    update_ai_settings(ocma, ai_workspace, {"model": "openai/acme-local-7b"})
    fake_openai.reply("unpriced")
    run(complete_text(ocma, ai_workspace, HELLO))
    update_ai_settings(
        ocma,
        ai_workspace,
        {"prices": {"openai/acme-local-7b": {"input_per_token": 1e-6, "output_per_token": 2e-6}}},
    )
    fake_openai.reply("priced")
    run(complete_text(ocma, ai_workspace, [{"role": "user", "content": "again"}]))
    unknown, priced = sorted(usage_rows(ocma, ai_workspace), key=lambda r: r.created_at)
    assert (unknown.cost_usd, unknown.cost_source) == (None, "unknown (model not priced)")
    assert priced.cost_source == "configured price"
    assert priced.cost_usd == pytest.approx(priced.prompt_tokens * 1e-6 + priced.completion_tokens * 2e-6)


def test_importing_the_core_and_help_do_not_import_litellm() -> None:
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, ocma_core, ocma_core.ai, ocma_core.content, ocma_core.ai.service, ocma_litellm, "
        "ocma_core.cli.content, ocma_core.api.routes_content\n"
        "from ocma_core.registry import get_platforms\n"
        "from ocma_core.ai import registry\n"
        "registry.text_providers()\n"
        "print('litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "False"
    ocma = Path(sys.executable).parent / "ocma"
    helped = subprocess.run(
        [sys.executable, "-X", "importtime", str(ocma), "--help"],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    assert "content" in helped.stdout and "image" in helped.stdout
    assert "litellm" not in helped.stderr
