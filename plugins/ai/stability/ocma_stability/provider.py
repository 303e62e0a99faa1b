"""Stability AI's Stable Image REST API (v2beta): multipart/form-data POST, `aspect_ratio` instead of pixels.

Endpoints: /v2beta/stable-image/generate/ultra, /core, and /sd3 (with `model` = sd3.5-large, ...).
With `Accept: application/json` the answer is {"image": base64, "finish_reason": "SUCCESS"|"CONTENT_FILTERED",
"seed": n}; errors are {"id", "name", "errors": [...]}, content moderation is HTTP 403 name=content_moderation.
"""

from __future__ import annotations

import base64
from typing import Any

from ocma_core.ai import (
    AIBadOutput,
    AIRefused,
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    ImageResult,
    ImageSize,
)
from ocma_core.ai.http import send, status_error
from ocma_core.ai.sizes import free_size, nearest, parse_ratio

RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
SD3_MODELS = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash")
# Credits per image on Stability's pricing page (1 credit = 0.01 USD); models not listed here have no price
# in this plugin and need a configured one.
CREDITS = {"ultra": 8.0, "core": 3.0, "sd3.5-large": 6.5, "sd3.5-medium": 3.5}
USD_PER_CREDIT = 0.01
PRICE_SOURCE = "Stability credit price list (ocma-stability)"
ALIASES = {"stable-image-ultra": "ultra", "stable-image-core": "core"}


def endpoint(model: str) -> tuple[str, str | None]:
    """The generate path and the form `model` field for a model name."""
    name = ALIASES.get(model, model)
    if name in ("ultra", "core"):
        return f"/v2beta/stable-image/generate/{name}", None
    return "/v2beta/stable-image/generate/sd3", name


class StabilityImages(ImageProvider):
    """Stable Image Core (default), Ultra and SD 3.5."""

    name = "stability"
    vendor = "stability"
    key_env_vars = ("STABILITY_API_KEY",)
    default_model = "core"
    default_api_base = "https://api.stability.ai"
    backoff_base_s = 0.5

    def size_for(self, model: str, aspect_ratio: float) -> ImageSize:
        """The supported aspect ratio nearest to the one asked for (Stability picks the pixels, about 1 MP)."""
        options = [free_size(parse_ratio(r), r) for r in RATIOS]
        return nearest(options, aspect_ratio)

    def _name(self, model: str) -> str:
        return ALIASES.get(model, model)

    def estimate_cost(self, request: ImageRequest) -> float | None:
        """The configured price, else the model's credits at 0.01 USD."""
        price = request.target.price
        if price is not None and price.per_image is not None:
            return price.per_image
        credits = CREDITS.get(self._name(request.model))
        return None if credits is None else credits * USD_PER_CREDIT

    def _form(self, request: ImageRequest) -> dict[str, Any]:
        path, sd3_model = endpoint(request.model)
        if sd3_model is not None and sd3_model not in SD3_MODELS:
            from ocma_core.ai import AIUnknownModel

            raise AIUnknownModel(
                f"stability has no model {request.model!r}.",
                fix=f"Use ultra, core or one of {', '.join(SD3_MODELS)}.",
            )
        fields = {
            "prompt": request.prompt,
            "aspect_ratio": request.size.aspect_ratio,
            "output_format": request.options.get("output_format", "png"),
        }
        if sd3_model:
            fields["model"] = sd3_model
        if request.negative_prompt:
            fields["negative_prompt"] = request.negative_prompt
        return {"path": path, "files": {k: (None, str(v)) for k, v in fields.items()}}

    async def generate(self, request: ImageRequest) -> ImageResult:
        """POST the multipart form and return the image bytes."""
        form = self._form(request)
        headers = {"authorization": f"Bearer {request.target.api_key}", "accept": "application/json"}
        response = await send(
            "POST",
            request.target.api_base + form["path"],
            vendor=self.vendor,
            model=request.model,
            timeout_s=request.timeout_s,
            backoff_base_s=self.backoff_base_s,
            untrusted_endpoint=not request.target.operator_endpoint,
            files=form["files"],
            headers=headers,
        )
        if response.status_code >= 400:
            name, message = _error(response)
            raise status_error(
                response,
                vendor=self.vendor,
                model=request.model,
                message=message,
                code=name,
                refusal_codes=("content_moderation",),
            )
        body = response.json()
        if body.get("finish_reason") == "CONTENT_FILTERED":
            raise AIRefused(
                f"stability ({request.model}) filtered the generated image; it was not stored.",
                fix="Rephrase the prompt.",
            )
        if not body.get("image"):
            raise AIBadOutput(f"stability ({request.model}) answered without an image.", fix="Retry.")
        data = base64.b64decode(body["image"])
        mime = {"jpeg": "image/jpeg", "webp": "image/webp"}.get(
            request.options.get("output_format", "png"), "image/png"
        )
        price = request.target.price
        cost: float | None
        if price is not None and price.per_image is not None:
            cost, source = price.per_image, "configured price"
        else:
            credits = CREDITS.get(self._name(request.model))
            cost, source = (
                (None, "unknown (model not priced)")
                if credits is None
                else (credits * USD_PER_CREDIT, PRICE_SOURCE)
            )
        return ImageResult(
            images=[GeneratedImage(data=data, mime_type=mime, seed=body.get("seed"))],
            model=request.model,
            provider=self.vendor,
            cost_usd=cost,
            cost_source=source,
            meta={"finish_reason": str(body.get("finish_reason", ""))},
        )


def _error(response: Any) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    errors = body.get("errors") if isinstance(body, dict) else None
    message = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(body)[:300]
    return str(body.get("name") or ""), message
