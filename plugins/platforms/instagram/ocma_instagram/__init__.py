"""OCMA platform plugin for Instagram professional accounts (Instagram API with Instagram Login)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_instagram.platform import InstagramPlatform

__all__ = ["InstagramPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the Instagram platform with the OCMA plugin host."""
    register(InstagramPlatform)
