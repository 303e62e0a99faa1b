"""OCMA's sandbox platform: an account that needs no credentials and publishes to a local feed page.

Loading this module is cheap: the platform and its pages are imported inside the hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocma_core import Platform, hookimpl

__all__ = ["register_platforms", "register_routes"]


@hookimpl
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register the sandbox."""
    from ocma_sandbox.platform import SandboxPlatform

    register(SandboxPlatform)


@hookimpl
def register_routes(router: Any) -> None:
    """Serve the feed pages at /sandbox/{name} (and .json)."""
    from ocma_sandbox.routes import router as sandbox_router

    router.include_router(sandbox_router)


def __getattr__(name: str) -> object:
    """Import the platform class on first use, so loading the plugin stays cheap."""
    if name == "SandboxPlatform":
        from ocma_sandbox.platform import SandboxPlatform

        return SandboxPlatform
    raise AttributeError(name)
