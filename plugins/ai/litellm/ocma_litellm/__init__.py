"""OCMA AI plugin: text generation through litellm (any model it supports).

Registers the `litellm` text provider. litellm itself is imported only when a call is made.
"""

from __future__ import annotations

from typing import Any

from ocma_core import hookimpl


@hookimpl
def register_ai_providers(register: Any) -> None:
    """Register the litellm text provider."""
    from ocma_litellm.provider import LiteLLMText

    register(LiteLLMText())
