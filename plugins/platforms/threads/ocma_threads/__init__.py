"""OCMA platform plugin for Threads: posts, reply chains and insights through Meta's Threads API."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl
from ocma_threads.platform import ThreadsPlatform

__all__ = ["ThreadsPlatform", "register_platforms"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the Threads platform with the OCMA plugin host."""
    register(ThreadsPlatform)
