"""Storing generated images in the media store (never left at a provider's expiring URL) and checking them
against the target platform's media rules."""

from __future__ import annotations

import re
from typing import Any

from ocma_core.ai.types import ImageRequest, ImageResult
from ocma_core.context import Ocma
from ocma_core.db.models import Media

SMALL_IMAGE_LIMIT = 2_000_000  # platforms with a lower per-image limit (Bluesky: 1,000,000 bytes) get JPEG


def _platform(name: str | None) -> Any:
    if not name:
        return None
    from ocma_core.registry import get_platforms

    return get_platforms().get(name)


def output_format_for(platform: str | None) -> str:
    """JPEG for platforms whose image size limit a PNG would likely exceed, else PNG."""
    found = _platform(platform)
    if found is not None and found.limits.media.max_image_bytes <= SMALL_IMAGE_LIMIT:
        return "jpeg"
    return "png"


def store_generated(
    ocma: Ocma,
    workspace_id: str,
    request: ImageRequest,
    result: ImageResult,
    *,
    provider: str,
    platform: str | None,
    alt_text: str,
    usage_id: str,
) -> list[Media]:
    """Store each generated image with the prompt, model and cost in Media.meta."""
    from ocma_core.services.media import store_media

    stored: list[Media] = []
    count = len(result.images)
    share = None if result.cost_usd is None else result.cost_usd / count
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", result.model).strip("-")[:60]
    for index, image in enumerate(result.images):
        ext = {"image/jpeg": "jpg", "image/webp": "webp"}.get(image.mime_type, "png")
        meta: dict[str, object] = {
            "generated": True,
            "prompt": request.prompt,
            "revised_prompt": image.revised_prompt,
            "negative_prompt": request.negative_prompt,
            "provider": provider,
            "vendor": result.provider,
            "model": result.model,
            "platform": platform,
            "aspect_ratio": request.size.aspect_ratio,
            "requested_size": request.size.text,
            "seed": image.seed,
            "cost_usd": share,
            "cost_source": result.cost_source,
            "usage_id": usage_id,
            **{k: v for k, v in result.meta.items() if isinstance(v, str | int | float | bool)},
        }
        stored.append(
            store_media(
                ocma,
                workspace_id,
                image.data,
                filename=f"{slug}-{index + 1}.{ext}",
                alt_text=alt_text,
                meta={k: v for k, v in meta.items() if v is not None},
            )
        )
    return stored


def media_problems(ocma: Ocma, platform: str | None, media: list[Media]) -> list[dict[str, str]]:
    """Problems the target platform would have with these images (size, type, count), when it is installed."""
    found = _platform(platform)
    if found is None or not media:
        return []
    from ocma_core.platforms import PostContent
    from ocma_core.services.media import media_items

    items = media_items(ocma, media[0].workspace_id, [m.id for m in media])
    problems = found.validate(PostContent(text="", media=items))
    return [p.as_dict() for p in problems if p.field.startswith("media")]
