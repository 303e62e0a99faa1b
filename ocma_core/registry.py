"""The platforms registered through the `register_platforms` hook (see ocma_core.plugin_registry)."""

from __future__ import annotations

from typing import Any

from ocma_core.errors import UnknownPlatformError
from ocma_core.known_plugins import PLATFORM_PACKAGES, install_hint
from ocma_core.platforms.base import Platform
from ocma_core.plugin_registry import Registry, clear_caches

__all__ = ["PLATFORMS", "Registry", "clear_caches", "get_platform", "get_platforms"]


def _accept_platform(platform_cls: Any, plugin_name: str) -> Platform:
    if not (isinstance(platform_cls, type) and issubclass(platform_cls, Platform)):
        raise TypeError(f"register() takes a Platform subclass, got {platform_cls!r}")
    if not platform_cls.name:
        raise TypeError(f"{platform_cls.__name__} has no `name`")
    return platform_cls()


PLATFORMS: Registry[Platform] = Registry("register_platforms", "platforms", _accept_platform)


def get_platforms() -> dict[str, Platform]:
    """Every registered platform by name (a duplicate name keeps the first and is a plugin error)."""
    return PLATFORMS.items()


def get_platform(name: str) -> Platform:
    """The platform called `name`, or an error listing the installed ones."""
    platforms = get_platforms()
    try:
        return platforms[name]
    except KeyError:
        installed = ", ".join(sorted(platforms)) or "none"
        raise UnknownPlatformError(
            f"Unknown platform {name!r}; installed: {installed}.",
            fix=install_hint(name, PLATFORM_PACKAGES, "platform"),
        ) from None
