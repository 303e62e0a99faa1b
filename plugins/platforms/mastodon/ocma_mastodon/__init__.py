"""OCMA platform plugin for Mastodon (any instance)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_mastodon.platform import MastodonPlatform

__all__ = ["MastodonPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register Mastodon."""
    register(MastodonPlatform)
