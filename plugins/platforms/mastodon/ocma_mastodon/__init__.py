"""OCMA platform plugin for Mastodon (any instance)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl

__all__ = ["register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register Mastodon."""
    from ocma_mastodon.platform import MastodonPlatform

    register(MastodonPlatform)


def __getattr__(name: str) -> object:
    """Import the platform class on first use, so loading the plugin stays cheap."""
    if name == "MastodonPlatform":
        from ocma_mastodon.platform import MastodonPlatform

        return MastodonPlatform
    raise AttributeError(name)
