"""OCMA platform plugin for X (API v2)."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_x.platform import XPlatform

__all__ = ["XPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the X platform."""
    register(XPlatform)
