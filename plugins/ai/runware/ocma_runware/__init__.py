"""OCMA AI plugin: image generation through Runware's task API."""

from __future__ import annotations

from typing import Any

from ocma_core import hookimpl


@hookimpl
def register_ai_providers(register: Any) -> None:
    """Register the `runware` image provider."""
    from ocma_runware.provider import RunwareImages

    register(RunwareImages())
