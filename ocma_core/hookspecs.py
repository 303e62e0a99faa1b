"""The hooks OCMA plugins implement (pluggy). Each is documented with its signature in docs/plugins.md.

The parameter types are imported only for type checkers (as pytest's hookspecs do), so loading the hook
specifications imports neither click, FastAPI nor the platform base class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from fastapi import APIRouter

    from ocma_core.ai.providers import ImageProvider, TextProvider
    from ocma_core.analytics.base import Analyzer
    from ocma_core.background_job import BackgroundJob
    from ocma_core.context import Ocma
    from ocma_core.event_kind import EventKind
    from ocma_core.events import Event
    from ocma_core.platforms.base import Platform
    from ocma_core.webhook_receivers import WebhookReceiver
    from ocma_core.workspace_settings import WorkspaceSetting

hookspec = pluggy.HookspecMarker("ocma")
hookimpl = pluggy.HookimplMarker("ocma")


@hookspec
def register_platforms(register: Callable[[type[Platform]], None]) -> None:
    """Register Platform subclasses: call register(PlatformClass) for each."""


@hookspec
def register_ai_providers(register: Callable[[TextProvider | ImageProvider], None]) -> None:
    """Register AI text and image providers: call register(provider) for each."""


@hookspec
def register_analyzers(register: Callable[[Analyzer], None]) -> None:
    """Register analyzers (best time, trends, predictions, scoring, A/B): call register(analyzer)."""


@hookspec
def register_tools(register: Callable[[Callable[..., Any]], None]) -> None:
    """Register agent tools (typed functions with docstrings): call register(function)."""


@hookspec
def register_settings(register: Callable[[WorkspaceSetting], None]) -> None:
    """Register workspace settings the plugin reads: call register(WorkspaceSetting(...)) for each."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the `ocma` click group."""


@hookspec
def register_routes(router: APIRouter) -> None:
    """Add HTTP routes: call router.include_router(...) or decorate routes on this FastAPI APIRouter."""


@hookspec
def register_event_kinds(register: Callable[[EventKind], None]) -> None:
    """Declare the plugin's own event kinds: call register(EventKind(name, when, payload_schema)) for each."""


@hookspec
def register_webhook_receivers(register: Callable[[WebhookReceiver], None]) -> None:
    """Register receivers served at /webhooks/{name} (POST: handle, GET: challenge): register(WebhookReceiver(...))."""


@hookspec
def register_background_jobs(register: Callable[[BackgroundJob], None]) -> None:
    """Add background rounds the worker runs (inline or as rq jobs): call register(BackgroundJob(...)) for each."""


@hookspec
def on_event(event: Event, ocma: Ocma) -> None:
    """React to a domain event (post published or failed, account needs reconnecting, ...) in `ocma`'s context."""
