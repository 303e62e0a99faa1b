"""OpenAI's Images API: POST {api_base}/images/generations (gpt-image-1, gpt-image-1-mini, dall-e-3, dall-e-2).

gpt-image models always answer with base64 (`b64_json`) and report token usage; DALL·E models are asked for
`response_format=b64_json`, and a `url` answer is downloaded at once (those URLs expire after an hour).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import httpx

from ocma_core.ai import AIBadOutput, GeneratedImage, ImageProvider, ImageRequest, ImageResult, ImageSize
from ocma_core.ai.http import send, status_error
from ocma_core.ai.sizes import nearest, sized

SIZES: dict[str, list[tuple[int, int]]] = {
    "gpt-image": [(1024, 1024), (1536, 1024), (1024, 1536)],
    "dall-e-3": [(1024, 1024), (1792, 1024), (1024, 1792)],
    "dall-e-2": [(1024, 1024)],
}
# Published prices (openai.com/api/pricing; the gpt-image figures match litellm's model_prices table).
TOKEN_PRICES = {  # model -> (USD per text input token, USD per image output token)
    "gpt-image-1": (5e-06, 4e-05),
    "gpt-image-1-mini": (2e-06, 8e-06),
}
DALLE_PRICES = {  # (model, quality, square) -> USD per image
    ("dall-e-3", "standard", True): 0.04,
    ("dall-e-3", "standard", False): 0.08,
    ("dall-e-3", "hd", True): 0.08,
    ("dall-e-3", "hd", False): 0.12,
    ("dall-e-2", "standard", True): 0.02,
}
# Image output tokens per size and quality, from OpenAI's gpt-image-1 documentation ("high" is the worst case).
OUTPUT_TOKENS = {
    (1024, 1024): {"low": 272, "medium": 1056, "high": 4160},
    (1024, 1536): {"low": 408, "medium": 1584, "high": 6240},
}
MAX_IMAGE_BYTES = 50_000_000
PRICE_SOURCE = "OpenAI price list (ocma-openai-images)"
REFUSALS = ("content_policy_violation", "moderation_blocked")


def family(model: str) -> str:
    """gpt-image, dall-e-3 or dall-e-2."""
    if model.startswith("gpt-image"):
        return "gpt-image"
    return "dall-e-2" if model == "dall-e-2" else "dall-e-3"


class OpenAIImages(ImageProvider):
    """gpt-image-1 (default) and DALL·E through the OpenAI Images API."""

    name = "openai-images"
    vendor = "openai"
    key_env_vars = ("OPENAI_API_KEY",)
    default_model = "gpt-image-1"
    default_api_base = "https://api.openai.com/v1"
    backoff_base_s = 0.5

    def size_for(self, model: str, aspect_ratio: float) -> ImageSize:
        """The model's supported size nearest to the ratio."""
        return nearest([sized(w, h) for w, h in SIZES[family(model)]], aspect_ratio)

    def _quality(self, request: ImageRequest) -> str | None:
        if request.quality:
            return request.quality
        return "standard" if request.model == "dall-e-3" else None

    def estimate_cost(self, request: ImageRequest) -> float | None:
        """Worst case for the call: the configured price, else the published one."""
        price = request.target.price
        if price is not None and price.per_image is not None:
            return price.per_image
        if family(request.model) == "gpt-image":
            units = self._token_prices(request)
            if units is None:
                return None
            key = (1024, 1024) if request.size.width == request.size.height else (1024, 1536)
            quality = request.quality if request.quality in ("low", "medium", "high") else "high"
            tokens = OUTPUT_TOKENS[key][quality]
            return math.ceil(len(request.prompt) / 3) * units[0] + tokens * units[1]
        return DALLE_PRICES.get(
            (request.model, self._quality(request) or "standard", request.size.width == request.size.height)
        )

    def _token_prices(self, request: ImageRequest) -> tuple[float, float] | None:
        price = request.target.price
        if price is not None and (price.input_per_token or price.output_per_token):
            return price.input_per_token, price.output_per_token
        return TOKEN_PRICES.get(request.model)

    def _cost(
        self, request: ImageRequest, usage: dict[str, Any] | None, count: int
    ) -> tuple[float | None, str]:
        price = request.target.price
        if price is not None and price.per_image is not None:
            return price.per_image * count, "configured price"
        if family(request.model) == "gpt-image":
            units = self._token_prices(request)
            if units is None or not usage:
                return None, "unknown (model not priced)"
            source = "configured price" if price is not None else PRICE_SOURCE
            text_in = int(
                (usage.get("input_tokens_details") or {}).get("text_tokens", usage.get("input_tokens", 0))
            )
            return text_in * units[0] + int(usage.get("output_tokens", 0)) * units[1], source
        each = DALLE_PRICES.get(
            (request.model, self._quality(request) or "standard", request.size.width == request.size.height)
        )
        return (None, "unknown (model not priced)") if each is None else (each * count, PRICE_SOURCE)

    def _body(self, request: ImageRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "n": 1,
            "size": request.size.text,
        }
        quality = self._quality(request)
        if quality:
            body["quality"] = quality
        if family(request.model) == "gpt-image":
            body["output_format"] = request.options.get("output_format", "png")
        else:
            body["response_format"] = "b64_json"
        return body

    async def generate(self, request: ImageRequest) -> ImageResult:
        """POST /images/generations and return the image bytes."""
        headers = {"Authorization": f"Bearer {request.target.api_key}"}
        url = f"{request.target.api_base or self.default_api_base}/images/generations"
        response = await send(
            "POST",
            url,
            vendor=self.vendor,
            model=request.model,
            timeout_s=request.timeout_s,
            backoff_base_s=self.backoff_base_s,
            untrusted_endpoint=not request.target.operator_endpoint,
            json=self._body(request),
            headers=headers,
        )
        if response.status_code >= 400:
            error = _error_body(response)
            raise status_error(
                response,
                vendor=self.vendor,
                model=request.model,
                message=str(error.get("message") or response.text[:300]),
                code=str(error.get("code") or ""),
                refusal_codes=REFUSALS,
            )
        body = response.json()
        images = [await self._image(item, request) for item in body.get("data") or []]
        if not images:
            raise AIBadOutput(f"openai ({request.model}) answered without an image.", fix="Retry.")
        cost, source = self._cost(request, body.get("usage"), len(images))
        usage = body.get("usage") or {}
        return ImageResult(
            images=images,
            model=request.model,
            provider=self.vendor,
            cost_usd=cost,
            cost_source=source,
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
            meta={k: body[k] for k in ("quality", "size", "output_format") if k in body},
        )

    async def _image(self, item: dict[str, Any], request: ImageRequest) -> GeneratedImage:
        if item.get("b64_json"):
            data = base64.b64decode(item["b64_json"])
        elif item.get("url"):
            data = await _download(str(item["url"]), request.timeout_s)
        else:
            raise AIBadOutput(f"openai ({request.model}) answered without image data.", fix="Retry.")
        mime = (
            "image/jpeg"
            if data.startswith(b"\xff\xd8")
            else "image/webp"
            if data[8:12] == b"WEBP"
            else "image/png"
        )
        return GeneratedImage(data=data, mime_type=mime, revised_prompt=item.get("revised_prompt"))


async def _download(url: str, timeout_s: float) -> bytes:
    """The image at a URL the provider answered with, through the core's guarded fetcher: the URL is the
    provider's (or a workspace endpoint's) word, so it must be public, small enough, and an image by its bytes."""
    from ocma_core.net import FetchRefused, fetch

    try:
        fetched = await fetch(url, expect="image", max_bytes=MAX_IMAGE_BYTES, timeout_s=min(timeout_s, 60.0))
    except FetchRefused as exc:
        raise AIBadOutput(
            f"The generated image was not downloaded: {exc.message}", fix="Retry the generation."
        ) from None
    except httpx.HTTPError as exc:
        raise AIBadOutput(
            f"The generated image could not be downloaded ({type(exc).__name__}).",
            fix="Retry the generation.",
        ) from None
    if fetched.status != 200:
        raise AIBadOutput(
            f"The generated image could not be downloaded (HTTP {fetched.status}).",
            fix="Retry the generation.",
        )
    return fetched.body


def _error_body(response: Any) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}
