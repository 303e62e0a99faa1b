"""The AI provider contract (public API for AI plugins) and the AI services of the core.

Importing this package is cheap: it loads no AI library and no database layer. Plugins use:
TextProvider, ImageProvider, the request/result types, and the errors below.
HTTP helpers for REST plugins: `ocma_core.ai.http.send` and `status_error`.
Services (import from their modules): `ocma_core.ai.service.complete_text`, `generate_image`;
settings and budgets in `ocma_core.ai.settings` and `ocma_core.ai.usage`.
"""

from ocma_core.ai.errors import (
    AIAuthFailed,
    AIBadOutput,
    AIError,
    AINotConfigured,
    AIRateLimited,
    AIRefused,
    AIUnavailable,
    AIUnknownModel,
    BudgetExceeded,
)
from ocma_core.ai.providers import ImageProvider, TextProvider
from ocma_core.ai.types import (
    GeneratedImage,
    ImageRequest,
    ImageResult,
    ImageSize,
    ModelTarget,
    Price,
    TextRequest,
    TextResult,
)

__all__ = [
    "AIAuthFailed",
    "AIBadOutput",
    "AIError",
    "AINotConfigured",
    "AIRateLimited",
    "AIRefused",
    "AIUnavailable",
    "AIUnknownModel",
    "BudgetExceeded",
    "GeneratedImage",
    "ImageProvider",
    "ImageRequest",
    "ImageResult",
    "ImageSize",
    "ModelTarget",
    "Price",
    "TextProvider",
    "TextRequest",
    "TextResult",
]
