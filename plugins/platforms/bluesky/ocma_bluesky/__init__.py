"""OCMA platform plugin for Bluesky (AT Protocol)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl

__all__ = ["register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register Bluesky."""
    from ocma_bluesky.platform import BlueskyPlatform

    register(BlueskyPlatform)


def __getattr__(name: str) -> object:
    """Import the platform class on first use, so loading the plugin stays cheap."""
    if name == "BlueskyPlatform":
        from ocma_bluesky.platform import BlueskyPlatform

        return BlueskyPlatform
    raise AttributeError(name)
