"""OCMA AI plugin: image generation through the OpenAI Images API (gpt-image-1 by default, DALL·E 3)."""

from __future__ import annotations

from typing import Any

from ocma_core import hookimpl


@hookimpl
def register_ai_providers(register: Any) -> None:
    """Register the `openai-images` image provider."""
    from ocma_openai_images.provider import OpenAIImages

    register(OpenAIImages())
