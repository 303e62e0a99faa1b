"""The FastAPI application."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from ocma_core import __version__
from ocma_core.api import (
    routes_accounts,
    routes_apikeys,
    routes_held,
    routes_media,
    routes_members,
    routes_oauth,
    routes_posts,
    routes_system,
    routes_workspaces,
)
from ocma_core.api.docs import install_docs
from ocma_core.api.middleware import RequestContext
from ocma_core.api.nul_guard import RefuseNul
from ocma_core.api.openapi import install_openapi
from ocma_core.api.problems import install_handlers
from ocma_core.context import Ocma
from ocma_core.observe import tracing
from ocma_core.observe.http import RequestObservation

log = logging.getLogger(__name__)

DESCRIPTION = """The OCMA HTTP API. Authenticate with `Authorization: Bearer <API key>`
(`ocma apikeys create` prints one). Errors are `application/problem+json` and say what to fix."""


def create_app(ocma: Ocma | None = None, *, run_worker: bool | None = None) -> FastAPI:
    """Build the app; with `run_worker` (default: when no Redis is configured) it runs the embedded worker."""
    context = ocma or Ocma(create_key=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.migrate(auto_upgrade_empty=True)
        embedded = None
        wants_worker = run_worker if run_worker is not None else not context.settings.redis_url
        if wants_worker:
            from ocma_core.engine.embedded import EmbeddedWorker

            embedded = EmbeddedWorker(context)
            await embedded.start()
        try:
            yield
        finally:
            if embedded is not None:
                await embedded.stop()

    app = FastAPI(
        title="OCMA",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from the package, so /docs works offline
        redoc_url=None,
        # /v1/media/ (an id left out) is a 404, not a redirect to /v1/media, a different resource.
        redirect_slashes=False,
    )
    app.state.ocma = context
    app.add_middleware(RefuseNul)
    # Inside RequestContext, which assigns the request id: it binds that id for logs and new targets.
    app.add_middleware(RequestObservation)
    app.add_middleware(RequestContext)  # added last: outermost
    tracing.configure(context.settings.tracing)
    install_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.include_router(routes_system.router)
    app.include_router(routes_accounts.router)
    app.include_router(routes_oauth.router)
    app.include_router(routes_media.router)
    app.include_router(routes_held.router)  # before routes_posts: /v1/posts/held is not a post id
    app.include_router(routes_posts.router)
    app.include_router(routes_workspaces.router)
    app.include_router(routes_workspaces.make_router())  # typed with the settings registered by now
    app.include_router(routes_members.router)
    app.include_router(routes_apikeys.router)
    # Core feature routers that live in their own modules (added as features land).
    for module_name in CORE_ROUTERS:
        app.include_router(importlib.import_module(module_name).router)
    app.include_router(_plugin_routes())
    return app


CORE_ROUTERS: tuple[str, ...] = (
    "ocma_core.api.routes_webhooks",
    "ocma_core.api.routes_content",
    "ocma_core.api.routes_analytics",
    "ocma_core.api.routes_clicks",
    "ocma_core.api.routes_hooks",
    "ocma_core.api.routes_events",
    "ocma_core.api.routes_notifications",
    "ocma_core.api.routes_stream",
)


def _plugin_routes() -> APIRouter:
    """Routes added by plugins through the register_routes hook (a failing plugin is reported, not fatal)."""
    from ocma_core.plugins import get_host

    router = APIRouter()
    get_host().call("register_routes", router=router)
    return router
