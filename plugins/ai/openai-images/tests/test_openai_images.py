"""The OpenAI Images provider against the loopback OpenAI fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from ocma_openai_images.provider import OpenAIImages

from ocma_core.ai import AIAuthFailed, AIRefused, AIUnknownModel, ImageRequest, ModelTarget, Price
from ocma_core.ai.sizes import parse_ratio
from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def provider() -> OpenAIImages:
    made = OpenAIImages()
    made.backoff_base_s = 0.01
    return made


def request(
    provider: OpenAIImages,
    fake: FakeOpenAI,
    model: str = "gpt-image-1",
    ratio: str = "1:1",
    prompt: str = "A red bicycle",
    key: str = DEFAULT_KEY,
    **kw: object,
) -> ImageRequest:
    return ImageRequest(
        prompt=prompt,
        target=ModelTarget(model, key, fake.api_base, kw.pop("price", None)),  # type: ignore[arg-type]
        size=provider.size_for(model, parse_ratio(ratio)),
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "ratio", "size"),
    [
        ("gpt-image-1", "4:5", "1024x1536"),
        ("gpt-image-1", "1.91:1", "1536x1024"),
        ("gpt-image-1", "1:1", "1024x1024"),
        ("dall-e-3", "9:16", "1024x1792"),
        ("dall-e-3", "16:9", "1792x1024"),
        ("dall-e-2", "16:9", "1024x1024"),
    ],
)
def test_sizes_follow_the_aspect_ratio(provider: OpenAIImages, model: str, ratio: str, size: str) -> None:
    assert provider.size_for(model, parse_ratio(ratio)).text == size


def test_gpt_image_request_body_and_cost_from_usage(provider: OpenAIImages, fake: FakeOpenAI) -> None:
    result = asyncio.run(
        provider.generate(request(provider, fake, ratio="4:5", options={"output_format": "jpeg"}))
    )
    body = fake.requests_to("POST", "/v1/images/generations")[0]
    assert body.bearer() == DEFAULT_KEY
    assert body.json() == {
        "model": "gpt-image-1",
        "prompt": "A red bicycle",
        "n": 1,
        "size": "1024x1536",
        "output_format": "jpeg",
    }
    [image] = result.images
    assert image.mime_type == "image/jpeg" and image.data.startswith(b"\xff\xd8")
    assert result.cost_usd == pytest.approx(result.prompt_tokens * 5e-6 + 1056 * 4e-5)
    assert (result.completion_tokens, result.cost_source) == (1056, "OpenAI price list (ocma-openai-images)")
    configured = asyncio.run(provider.generate(request(provider, fake, price=Price(per_image=0.011))))
    assert (configured.cost_usd, configured.cost_source) == (0.011, "configured price")


def test_worst_case_estimate_bounds_the_cost(provider: OpenAIImages, fake: FakeOpenAI) -> None:
    req = request(provider, fake)
    estimate = provider.estimate_cost(req)
    result = asyncio.run(provider.generate(req))
    assert estimate is not None and result.cost_usd is not None and result.cost_usd <= estimate
    assert provider.estimate_cost(request(provider, fake, model="dall-e-3", ratio="16:9")) == 0.08


def test_failures(provider: OpenAIImages, fake: FakeOpenAI) -> None:
    with pytest.raises(AIAuthFailed) as auth:
        asyncio.run(provider.generate(request(provider, fake, key="sk-nope-0000")))
    assert "Incorrect API key provided" in auth.value.message
    with pytest.raises(AIRefused) as gpt:
        asyncio.run(provider.generate(request(provider, fake, prompt="forbidden-content")))
    assert "rejected by the safety system" in gpt.value.message
    with pytest.raises(AIRefused) as dalle:
        asyncio.run(provider.generate(request(provider, fake, model="dall-e-3", prompt="forbidden-content")))
    assert "safety system" in dalle.value.message
    with pytest.raises(AIUnknownModel):
        asyncio.run(provider.generate(request(provider, fake, model="gpt-image-9")))
    fake.fail_next("rate_limit", retry_after_s=0.01)
    fake.fail_next("unavailable")
    assert asyncio.run(provider.generate(request(provider, fake))).images
    assert len(fake.requests_to("POST", "/v1/images/generations")) == 7


def test_dalle_base64_answer_is_decoded(provider: OpenAIImages, fake: FakeOpenAI) -> None:
    from ocma_core.media import image_size

    result = asyncio.run(provider.generate(request(provider, fake, model="dall-e-3", ratio="9:16")))
    [image] = result.images
    assert image.mime_type == "image/png" and image_size(image.data) == (1024, 1792)
    assert image.revised_prompt == "A detailed rendering: A red bicycle"
    assert fake.requests_to("GET", r"/files/.*") == []  # base64 was asked for and given: nothing to download
    assert (result.cost_usd, result.cost_source) == (0.08, "OpenAI price list (ocma-openai-images)")
