"""Runware's task API: POST a JSON array of tasks to https://api.runware.ai/v1 (Bearer auth).

One `imageInference` task per call, with `outputType: base64Data` (so nothing is left at a Runware URL),
`includeCost: true` (Runware reports what the task cost) and `checkNSFW: true`.
Answers are {"data": [{taskType, taskUUID, imageUUID, imageBase64Data, seed, NSFWContent, cost}]}; failures are
{"errors": [{code, message, parameter, taskType, taskUUID}]} with an HTTP status.
"""

from __future__ import annotations

import base64
import uuid
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
from ocma_core.ai.sizes import free_size, ratio_label

FORMATS = {"png": "PNG", "jpeg": "JPG", "webp": "WEBP"}
MIME = {"PNG": "image/png", "JPG": "image/jpeg", "WEBP": "image/webp"}


class RunwareImages(ImageProvider):
    """Any Runware model by AIR id (default runware:100@1)."""

    name = "runware"
    vendor = "runware"
    key_env_vars = ("RUNWARE_API_KEY",)
    default_model = "runware:100@1"
    default_api_base = "https://api.runware.ai/v1"
    backoff_base_s = 0.5

    def size_for(self, model: str, aspect_ratio: float) -> ImageSize:
        """About one megapixel at the ratio, both sides multiples of 64 between 128 and 2048."""
        size = free_size(aspect_ratio, "", lo=128, hi=2048)
        return ImageSize(size.width, size.height, ratio_label(size.width, size.height))

    def estimate_cost(self, request: ImageRequest) -> float | None:
        """Only a configured price: Runware reports the real cost after the task, not before."""
        price = request.target.price
        return price.per_image if price is not None else None

    def task(self, request: ImageRequest) -> dict[str, Any]:
        """The imageInference task for this request."""
        output = FORMATS.get(str(request.options.get("output_format", "png")), "PNG")
        task: dict[str, Any] = {
            "taskType": "imageInference",
            "taskUUID": str(uuid.uuid4()),
            "positivePrompt": request.prompt,
            "model": request.model,
            "width": request.size.width,
            "height": request.size.height,
            "numberResults": 1,
            "outputType": "base64Data",
            "outputFormat": output,
            "includeCost": True,
            "checkNSFW": True,
        }
        if request.negative_prompt:
            task["negativePrompt"] = request.negative_prompt
        return task

    async def generate(self, request: ImageRequest) -> ImageResult:
        """Send the task and return the image bytes with the cost Runware reported."""
        task = self.task(request)
        response = await send(
            "POST",
            request.target.api_base or self.default_api_base,
            vendor=self.vendor,
            model=request.model,
            timeout_s=request.timeout_s,
            backoff_base_s=self.backoff_base_s,
            untrusted_endpoint=not request.target.operator_endpoint,
            json=[task],
            headers={"Authorization": f"Bearer {request.target.api_key}"},
        )
        body = _json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if response.status_code >= 400 or errors:
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            raise status_error(
                response,
                vendor=self.vendor,
                model=request.model,
                message=str(first.get("message") or response.text[:300]),
                code=str(first.get("code") or ""),
            )
        results = [
            d for d in body.get("data") or [] if isinstance(d, dict) and d.get("taskUUID") == task["taskUUID"]
        ]
        if not results:
            raise AIBadOutput(
                f"runware ({request.model}) answered without a result for the task.", fix="Retry."
            )
        if any(r.get("NSFWContent") for r in results):
            raise AIRefused(
                f"runware ({request.model}) flagged the generated image as NSFW; it was not stored.",
                fix="Rephrase the prompt.",
            )
        images = []
        for result in results:
            if not result.get("imageBase64Data"):
                raise AIBadOutput(f"runware ({request.model}) returned no image data.", fix="Retry.")
            images.append(
                GeneratedImage(
                    data=base64.b64decode(result["imageBase64Data"]),
                    mime_type=MIME[task["outputFormat"]],
                    seed=result.get("seed"),
                )
            )
        reported = [float(r["cost"]) for r in results if isinstance(r.get("cost"), int | float)]
        price = request.target.price
        cost: float | None
        if len(reported) == len(results):
            cost, source = sum(reported), "reported by Runware (includeCost)"
        elif price is not None and price.per_image is not None:
            cost, source = price.per_image * len(images), "configured price"
        else:
            cost, source = None, "unknown (Runware reported no cost)"
        return ImageResult(
            images=images,
            model=request.model,
            provider=self.vendor,
            cost_usd=cost,
            cost_source=source,
            meta={"task_uuid": task["taskUUID"]},
        )


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
