"""The Stability provider against the loopback Stable Image fake (multipart form, JSON answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from ocma_stability.provider import StabilityImages

from ocma_core.ai import (
    AIAuthFailed,
    AIError,
    AIRefused,
    AIUnavailable,
    AIUnknownModel,
    ImageRequest,
    ModelTarget,
)
from ocma_core.ai.sizes import parse_ratio
from ocma_core.ai.testing.fake_stability import DEFAULT_KEY, FakeStability
from ocma_core.media import image_size


@pytest.fixture
def fake() -> Iterator[FakeStability]:
    with FakeStability() as server:
        yield server


@pytest.fixture
def provider() -> StabilityImages:
    made = StabilityImages()
    made.backoff_base_s = 0.01
    return made


def request(
    provider: StabilityImages,
    fake: FakeStability,
    model: str = "core",
    ratio: str = "1:1",
    prompt: str = "A ceramic mug",
    key: str = DEFAULT_KEY,
    **kw: object,
) -> ImageRequest:
    return ImageRequest(
        prompt=prompt,
        target=ModelTarget(model, key, fake.base_url),
        size=provider.size_for(model, parse_ratio(ratio)),
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ratio", "sent"),
    [("4:5", "4:5"), ("1.91:1", "16:9"), ("2:3", "2:3"), ("9:16", "9:16"), ("3:1", "21:9"), ("1:1", "1:1")],
)
def test_aspect_ratio_is_the_nearest_supported(provider: StabilityImages, ratio: str, sent: str) -> None:
    assert provider.size_for("core", parse_ratio(ratio)).aspect_ratio == sent


def test_multipart_request_and_json_answer(provider: StabilityImages, fake: FakeStability) -> None:
    result = asyncio.run(provider.generate(request(provider, fake, ratio="4:5", negative_prompt="blurry")))
    sent = fake.requests_to("POST", r"/v2beta/stable-image/generate/core")[0]
    assert sent.header("content-type").startswith("multipart/form-data; boundary=")
    assert sent.header("accept") == "application/json" and sent.bearer() == DEFAULT_KEY
    assert fake.forms()[0] == {
        "prompt": "A ceramic mug",
        "aspect_ratio": "4:5",
        "output_format": "png",
        "negative_prompt": "blurry",
    }
    [image] = result.images
    assert image_size(image.data) == (896, 1152) and image.seed is not None
    assert (result.cost_usd, result.cost_source) == (0.03, "Stability credit price list (ocma-stability)")


def test_sd3_models_go_to_the_sd3_endpoint(provider: StabilityImages, fake: FakeStability) -> None:
    result = asyncio.run(provider.generate(request(provider, fake, model="sd3.5-large")))
    assert (
        fake.requests_to("POST", r"/v2beta/stable-image/generate/sd3")
        and fake.forms()[0]["model"] == "sd3.5-large"
    )
    assert result.cost_usd == pytest.approx(0.065)
    flash = asyncio.run(provider.generate(request(provider, fake, model="sd3.5-flash")))
    assert (flash.cost_usd, flash.cost_source) == (None, "unknown (model not priced)")
    with pytest.raises(AIUnknownModel):
        asyncio.run(provider.generate(request(provider, fake, model="sd9")))


def test_refusals_and_failures(provider: StabilityImages, fake: FakeStability) -> None:
    with pytest.raises(AIRefused) as moderated:
        asyncio.run(provider.generate(request(provider, fake, prompt="forbidden-content")))
    assert "you were not charged" in moderated.value.message
    with pytest.raises(AIRefused) as filtered:
        asyncio.run(provider.generate(request(provider, fake, prompt="filtered-output")))
    assert "filtered the generated image" in filtered.value.message
    with pytest.raises(AIAuthFailed):
        asyncio.run(provider.generate(request(provider, fake, key="sk-wrong")))
    fake.fail_next("payment")
    with pytest.raises(AIError) as billing:
        asyncio.run(provider.generate(request(provider, fake)))
    assert "billing" in billing.value.message and "sufficient credits" in billing.value.message
    fake.fail_next("rate_limit")
    assert asyncio.run(provider.generate(request(provider, fake))).images  # 429 retried
    fake.fail_next("server_error")
    with pytest.raises(AIUnavailable):
        asyncio.run(provider.generate(request(provider, fake)))
