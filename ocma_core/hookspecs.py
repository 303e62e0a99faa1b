"""The hooks OCMA plugins implement (pluggy). Each is documented with its signature in docs/plugins.md."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("ocma")
hookimpl = pluggy.HookimplMarker("ocma")


@hookspec
def register_platforms(register: Any) -> None:
    """Register Platform subclasses: call register(PlatformClass) for each."""


@hookspec
def register_ai_providers(register: Any) -> None:
    """Register AI text and image providers: call register(provider) for each."""


@hookspec
def register_analyzers(register: Any) -> None:
    """Register analyzers (best time, trends, predictions, scoring, A/B): call register(analyzer)."""


@hookspec
def register_tools(register: Any) -> None:
    """Register agent tools (typed functions with docstrings): call register(function)."""


@hookspec
def register_settings(register: Any) -> None:
    """Register workspace settings the plugin reads: call register(WorkspaceSetting(...)) for each."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the `ocma` click group."""


@hookspec
def register_routes(router: Any) -> None:
    """Add HTTP routes: call router.include_router(...) or decorate routes on this FastAPI APIRouter."""


@hookspec
def on_event(event: Any, ocma: Any) -> None:
    """React to a domain event (post published or failed, account needs reconnecting, ...) in `ocma`'s context."""
