"""Typed registries filled through the register_* hooks, each item stamped with its plugin."""

from __future__ import annotations

import threading
from typing import Any

from ocma_core.errors import UnknownPlatformError
from ocma_core.known_plugins import PLATFORM_PACKAGES, install_hint
from ocma_core.platforms.base import Platform

_platforms: dict[str, Platform] | None = None
_lock = threading.Lock()


def clear_caches() -> None:
    """Forget registered items (after the plugin host changes)."""
    global _platforms
    with _lock:
        _platforms = None
    from ocma_core import workspace_settings

    workspace_settings.clear()


def get_platforms() -> dict[str, Platform]:
    """Every registered platform by name (a duplicate name keeps the first one registered)."""
    global _platforms
    from ocma_core.plugins import get_host

    with _lock:
        if _platforms is not None:
            return _platforms
        host = get_host()
        found: dict[str, Platform] = {}

        def make_register(plugin_name: str) -> Any:
            def register(platform_cls: type[Platform]) -> None:
                if not (isinstance(platform_cls, type) and issubclass(platform_cls, Platform)):
                    raise TypeError(f"register() takes a Platform subclass, got {platform_cls!r}")
                if not platform_cls.name:
                    raise TypeError(f"{platform_cls.__name__} has no `name`")
                if platform_cls.name in found:
                    return
                found[platform_cls.name] = platform_cls()
                host.record_registration(plugin_name, "platforms", platform_cls.name)

            return register

        host.call_each("register_platforms", "platforms", make_register)
        _platforms = found
        return found


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


def collect(hook_name: str, kind: str) -> list[tuple[str, Any]]:
    """Call a register_* hook and return (plugin name, item) pairs; for providers, analyzers and tools."""
    from ocma_core.plugins import get_host

    host = get_host()
    items: list[tuple[str, Any]] = []

    def make_register(plugin_name: str) -> Any:
        def register(item: Any) -> None:
            items.append((plugin_name, item))
            label = getattr(item, "name", None) or getattr(item, "__name__", None) or repr(item)
            host.record_registration(plugin_name, kind, str(label))

        return register

    host.call_each(hook_name, kind, make_register)
    return items
