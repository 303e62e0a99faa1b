"""OCMA platform plugin for LinkedIn: member and organisation-page posting through the Posts API."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_linkedin.platform import LinkedInPlatform

__all__ = ["LinkedInPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the LinkedIn platform with the OCMA plugin host."""
    register(LinkedInPlatform)
