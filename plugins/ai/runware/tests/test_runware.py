"""The Runware provider against the loopback task-API fake."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from ocma_runware.provider import RunwareImages

from ocma_core.ai import AIAuthFailed, AIError, AIRefused, ImageRequest, ImageSize, ModelTarget
from ocma_core.ai.sizes import parse_ratio
from ocma_core.ai.testing.fake_runware import DEFAULT_KEY, FakeRunware
from ocma_core.media import image_size


@pytest.fixture
def fake() -> Iterator[FakeRunware]:
    with FakeRunware() as server:
        yield server


@pytest.fixture
def provider() -> RunwareImages:
    made = RunwareImages()
    made.backoff_base_s = 0.01
    return made


def request(
    provider: RunwareImages,
    fake: FakeRunware,
    ratio: str = "1:1",
    prompt: str = "A paper lantern",
    key: str = DEFAULT_KEY,
    **kw: object,
) -> ImageRequest:
    size = kw.pop("size", None) or provider.size_for("runware:100@1", parse_ratio(ratio))
    return ImageRequest(
        prompt=prompt,
        target=ModelTarget("runware:100@1", key, fake.api_base),
        size=size,  # type: ignore[arg-type]
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("ratio", ["1:1", "4:5", "1.91:1", "9:16", "2:3", "16:9", "3:1"])
def test_dimensions_are_multiples_of_64_near_one_megapixel(provider: RunwareImages, ratio: str) -> None:
    size = provider.size_for("runware:100@1", parse_ratio(ratio))
    assert size.width % 64 == 0 and size.height % 64 == 0 and min(size.width, size.height) >= 128
    assert abs(size.width / size.height - parse_ratio(ratio)) / parse_ratio(ratio) < 0.08
    assert 0.8e6 < size.width * size.height < 1.25e6


def test_task_array_and_reported_cost(provider: RunwareImages, fake: FakeRunware) -> None:
    result = asyncio.run(
        provider.generate(
            request(provider, fake, ratio="9:16", negative_prompt="text", options={"output_format": "jpeg"})
        )
    )
    sent = fake.requests_to("POST", r"/v1/?")[0]
    assert sent.bearer() == DEFAULT_KEY and isinstance(sent.json(), list)
    [task] = fake.tasks()
    uuid.UUID(task["taskUUID"])
    assert {k: v for k, v in task.items() if k != "taskUUID"} == {
        "taskType": "imageInference",
        "positivePrompt": "A paper lantern",
        "model": "runware:100@1",
        "width": 768,
        "height": 1344,
        "numberResults": 1,
        "outputType": "base64Data",
        "outputFormat": "JPG",
        "includeCost": True,
        "checkNSFW": True,
        "negativePrompt": "text",
    }
    [image] = result.images
    assert image.mime_type == "image/jpeg" and image_size(image.data) == (768, 1344) and image.seed == 1000
    assert (result.cost_usd, result.cost_source) == (fake.cost_per_image, "reported by Runware (includeCost)")
    assert (
        provider.estimate_cost(request(provider, fake)) is None
    )  # Runware prices after the task, not before


def test_failures(provider: RunwareImages, fake: FakeRunware) -> None:
    with pytest.raises(AIAuthFailed) as auth:
        asyncio.run(provider.generate(request(provider, fake, key="not-a-key")))
    assert "Invalid API key" in auth.value.message
    with pytest.raises(AIRefused):
        asyncio.run(provider.generate(request(provider, fake, prompt="forbidden-content")))
    with pytest.raises(AIError) as width:
        asyncio.run(provider.generate(request(provider, fake, size=ImageSize(1000, 1000, "1:1"))))
    assert "multiple of 64" in width.value.message
    fake.fail_next("credits")
    with pytest.raises(AIError) as credits:
        asyncio.run(provider.generate(request(provider, fake)))
    assert "billing" in credits.value.message and "Insufficient credits" in credits.value.message
