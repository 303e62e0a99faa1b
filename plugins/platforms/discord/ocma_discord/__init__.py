"""OCMA platform plugin for Discord. Keep this module light: the platform is imported in the hook."""

from __future__ import annotations

from collections.abc import Callable

from ocma_core import Platform, hookimpl


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the Discord platform."""
    from ocma_discord.platform import DiscordPlatform

    register(DiscordPlatform)
