"""Text and image providers registered through the `register_ai_providers` hook."""

from __future__ import annotations

from ocma_core.ai.errors import AINotConfigured
from ocma_core.ai.providers import ImageProvider, TextProvider
from ocma_core.known_plugins import AI_PACKAGES, install_hint
from ocma_core.plugin_registry import Registry


def _accept(item: object, plugin_name: str) -> TextProvider | ImageProvider:
    if not isinstance(item, TextProvider | ImageProvider):
        raise TypeError(f"{item!r} is not a TextProvider or ImageProvider instance")
    if not item.name:
        raise ValueError(f"{type(item).__name__} has no `name`")
    return item


def _key(item: TextProvider | ImageProvider) -> str:
    """Text and image providers have a name space each (a plugin may offer both under one name)."""
    return f"{'text' if isinstance(item, TextProvider) else 'image'}:{item.name}"


PROVIDERS: Registry[TextProvider | ImageProvider] = Registry(
    "register_ai_providers", "ai_providers", _accept, key=_key
)


def clear() -> None:
    """Forget the collected providers."""
    PROVIDERS.clear()


def text_providers() -> dict[str, TextProvider]:
    """Registered text providers by name."""
    return {p.name: p for p in PROVIDERS.items().values() if isinstance(p, TextProvider)}


def image_providers() -> dict[str, ImageProvider]:
    """Registered image providers by name."""
    return {p.name: p for p in PROVIDERS.items().values() if isinstance(p, ImageProvider)}


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
