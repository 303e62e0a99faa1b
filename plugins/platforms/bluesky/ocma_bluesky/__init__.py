"""OCMA platform plugin for Bluesky (AT Protocol)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_bluesky.platform import BlueskyPlatform
from ocma_core import Platform, hookimpl

__all__ = ["BlueskyPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register Bluesky."""
    register(BlueskyPlatform)
