"""Content: platform rules, checks and adaptation of drafts, and the AI text and image services.

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.ai.service import complete_text, generate_image, text_request
from ocma_core.content.adapt import adapt
from ocma_core.content.drafts import check, platforms_named, rules
from ocma_core.content.llm import Session

__all__ = [
    "Session",
    "adapt",
    "check",
    "complete_text",
    "generate_image",
    "platforms_named",
    "rules",
    "text_request",
]
