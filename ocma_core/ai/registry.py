"""Text and image providers registered through the `register_ai_providers` hook."""

from __future__ import annotations

import logging
import threading

from ocma_core.ai.errors import AINotConfigured
from ocma_core.ai.providers import ImageProvider, TextProvider
from ocma_core.known_plugins import AI_PACKAGES, install_hint

log = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: tuple[int, dict[str, TextProvider], dict[str, ImageProvider]] | None = None


def _load() -> tuple[dict[str, TextProvider], dict[str, ImageProvider]]:
    """Collect providers once per plugin host (a new host, e.g. in tests, reloads them)."""
    global _cache
    from ocma_core.plugins import get_host
    from ocma_core.registry import collect

    host = get_host()
    with _lock:
        if _cache is not None and _cache[0] == id(host):
            return _cache[1], _cache[2]
    text: dict[str, TextProvider] = {}
    images: dict[str, ImageProvider] = {}
    for plugin, item in collect("register_ai_providers", "ai_providers"):
        if isinstance(item, TextProvider) and item.name:
            text.setdefault(item.name, item)
        elif isinstance(item, ImageProvider) and item.name:
            images.setdefault(item.name, item)
        else:
            log.warning(
                "plugin %s registered %r, which is not a named TextProvider or ImageProvider", plugin, item
            )
    with _lock:
        _cache = (id(host), text, images)
    return text, images


def clear() -> None:
    """Forget the collected providers."""
    global _cache
    with _lock:
        _cache = None


def text_providers() -> dict[str, TextProvider]:
    """Registered text providers by name."""
    return _load()[0]


def image_providers() -> dict[str, ImageProvider]:
    """Registered image providers by name."""
    return _load()[1]


def text_provider_for(model: str) -> TextProvider:
    """The first text provider that handles `model`, or a message saying which plugin to install."""
    providers = text_providers()
    for provider in providers.values():
        if provider.handles(model):
            return provider
    if not providers:
        raise AINotConfigured(
            "No AI text provider is installed.",
            fix="Install one, e.g. `pip install ocma-litellm`, then check `ocma plugins`.",
        )
    raise AINotConfigured(
        f"No installed text provider handles the model {model!r} (installed: {', '.join(sorted(providers))}).",
        fix="Pick a model one of them supports, or install the provider plugin for it.",
    )


def image_provider(name: str | None) -> ImageProvider:
    """The image provider called `name` (the only one when `name` is None and exactly one is installed)."""
    providers = image_providers()
    installed = ", ".join(sorted(providers)) or "none"
    if name is None:
        if len(providers) == 1:
            return next(iter(providers.values()))
        if not providers:
            raise AINotConfigured(
                "No image provider is installed.",
                fix="Install one: `pip install ocma-openai-images` (or ocma-stability, ocma-runware).",
            )
        raise AINotConfigured(
            f"Several image providers are installed ({installed}) and none is chosen.",
            fix="Name the provider for this image, or set the workspace's image provider or OCMA_IMAGE_PROVIDER.",
            fixes={
                "cli": "Pass --provider NAME, or set the workspace's (`ocma ai set --image-provider NAME`) or "
                "OCMA_IMAGE_PROVIDER.",
                "api": 'Send "provider", or set the workspace\'s image_provider (PUT /v1/ai/settings) or '
                "OCMA_IMAGE_PROVIDER.",
            },
        )
    try:
        return providers[name]
    except KeyError:
        raise AINotConfigured(
            f"Unknown image provider {name!r}; installed: {installed}.",
            fix=install_hint(name, AI_PACKAGES, "AI"),
        ) from None
