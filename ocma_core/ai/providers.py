"""The AI provider contract: plugins subclass TextProvider or ImageProvider and register an instance.

```python
from ocma_core import hookimpl
from ocma_core.ai import TextProvider

class MyText(TextProvider):
    name = "mytext"
    ...

@hookimpl
def register_ai_providers(register):
    register(MyText())
```

Providers raise only the errors of `ocma_core.ai.errors` (AIAuthFailed, AIUnknownModel, AIUnavailable,
AIRateLimited, AIRefused, AIError). Keys, budgets, caching and usage records are the core's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ocma_core.ai.types import ImageRequest, ImageResult, ImageSize, TextRequest, TextResult


class TextProvider(ABC):
    """Generates text (chat completions) for some set of model names."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "text"

    def handles(self, model: str) -> bool:
        """True when this provider can call `model` (default: any)."""
        return True

    @abstractmethod
    def key_name(self, model: str) -> str | None:
        """The vendor whose key `model` needs ("openai", "anthropic", ...); None when it needs no key."""

    @abstractmethod
    def key_env_vars(self, model: str) -> tuple[str, ...]:
        """The vendor's usual environment variables for its key, e.g. ("OPENAI_API_KEY",)."""

    def estimate_cost(self, request: TextRequest) -> float | None:
        """The most this call can cost in USD (prompt plus max_tokens), or None when the price is unknown."""
        return None

    @abstractmethod
    async def complete(self, request: TextRequest) -> TextResult:
        """Run the chat completion (streaming to request.on_delta when set)."""


class ImageProvider(ABC):
    """Generates images through one vendor's API."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "image"
    vendor: ClassVar[str] = ""  # key name in workspace settings, e.g. "openai"
    key_env_vars: ClassVar[tuple[str, ...]] = ()
    default_model: ClassVar[str] = ""
    default_api_base: ClassVar[str] = ""

    @abstractmethod
    def size_for(self, model: str, aspect_ratio: float) -> ImageSize:
        """The size this model supports that comes closest to `aspect_ratio` (width / height)."""

    def estimate_cost(self, request: ImageRequest) -> float | None:
        """The most this call can cost in USD, or None when the price is unknown."""
        return None

    @abstractmethod
    async def generate(self, request: ImageRequest) -> ImageResult:
        """Generate the image(s) and return their bytes."""
