"""OCMA AI plugin: image generation through Stability AI's Stable Image REST API."""

from __future__ import annotations

from typing import Any

from ocma_core import hookimpl


@hookimpl
def register_ai_providers(register: Any) -> None:
    """Register the `stability` image provider."""
    from ocma_stability.provider import StabilityImages

    register(StabilityImages())
