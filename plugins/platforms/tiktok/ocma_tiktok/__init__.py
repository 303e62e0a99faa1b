"""OCMA platform plugin for TikTok (Login Kit v2 and the Content Posting API)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_tiktok.platform import TikTokPlatform

__all__ = ["TikTokPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the TikTok platform with the OCMA plugin host."""
    register(TikTokPlatform)
