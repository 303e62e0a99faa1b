"""OCMA platform plugin for Facebook Pages: one OCMA account per Page, through Meta's Graph API."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_facebook.platform import FacebookPlatform

__all__ = ["FacebookPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the Facebook Pages platform with the OCMA plugin host."""
    register(FacebookPlatform)
