"""OCMA platform plugin for Pinterest (API v5)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_pinterest.platform import PinterestPlatform

__all__ = ["PinterestPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the Pinterest platform."""
    register(PinterestPlatform)
