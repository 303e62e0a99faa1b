"""Plain data crossing the AI provider contract (no I/O, cheap to import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Price:
    """A configured price for a model: USD per input/output token (text) or per image."""

    input_per_token: float = 0.0
    output_per_token: float = 0.0
    per_image: float | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Price:
        """From a settings dict such as {"input_per_token": 1.5e-7, "output_per_token": 6e-7}."""
        per_image = raw.get("per_image")
        return cls(
            input_per_token=float(raw.get("input_per_token", 0.0)),
            output_per_token=float(raw.get("output_per_token", 0.0)),
            per_image=float(per_image) if per_image is not None else None,
        )

    def text_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost of a text call with these token counts."""
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


@dataclass(frozen=True)
class ModelTarget:
    """One model to call, with the endpoint, key and price that go with it."""

    model: str
    api_key: str | None = None
    api_base: str | None = None
    price: Price | None = None
    # False when a workspace admin chose `api_base`: calls to it go through the guarded client
    # (ocma_core.net) and carry only the workspace's own key.
    operator_endpoint: bool = True


@dataclass
class TextRequest:
    """A chat completion request in the OpenAI message format.

    `fallbacks` are tried in order when the primary model stays unavailable after retries.
    With `on_delta` set the provider streams and calls it with each piece of text as it arrives.
    """

    messages: list[dict[str, Any]]
    target: ModelTarget
    fallbacks: tuple[ModelTarget, ...] = ()
    temperature: float | None = 0.7
    max_tokens: int = 1500
    json_mode: bool = False
    timeout_s: float = 60.0
    max_retries: int = 2
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    on_delta: Callable[[str], None] | None = None

    @property
    def model(self) -> str:
        """The primary model."""
        return self.target.model


@dataclass
class TextResult:
    """What a text call produced, with tokens and cost and where the cost figure came from."""

    text: str
    model: str
    provider: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    cost_source: str = ""
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (also the cache format)."""
        return asdict(self)


@dataclass(frozen=True)
class ImageSize:
    """Pixel size of a generated image and the aspect ratio it was chosen for."""

    width: int
    height: int
    aspect_ratio: str

    @property
    def text(self) -> str:
        """WIDTHxHEIGHT, the form OpenAI's size parameter takes."""
        return f"{self.width}x{self.height}"


@dataclass
class ImageRequest:
    """An image generation request; `size` was chosen by the provider for the target aspect ratio."""

    prompt: str
    target: ModelTarget
    size: ImageSize
    negative_prompt: str | None = None
    quality: str | None = None
    timeout_s: float = 120.0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The image model."""
        return self.target.model


@dataclass
class GeneratedImage:
    """One generated image's bytes (never a provider URL: those expire)."""

    data: bytes
    mime_type: str
    revised_prompt: str | None = None
    seed: int | None = None


@dataclass
class ImageResult:
    """What an image call produced, with its cost and where the cost figure came from."""

    images: list[GeneratedImage]
    model: str
    provider: str
    cost_usd: float | None = None
    cost_source: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
