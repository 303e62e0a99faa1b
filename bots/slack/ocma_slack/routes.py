"""HTTP mode: Bolt's async Starlette handler mounted in OCMA's FastAPI app (the event loop is never blocked)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

router = APIRouter(tags=["slack"])


async def _handle(request: Request) -> Response:
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

    from ocma_core.errors import ConfigError
    from ocma_slack.runtime import runtime_for

    try:
        runtime = runtime_for(request.app.state.ocma)
    except ConfigError as exc:
        return JSONResponse(
            {"title": "Slack is not configured", "detail": str(exc), "fix": exc.fix, "status": 503},
            status_code=503,
            media_type="application/problem+json",
        )
    return await AsyncSlackRequestHandler(runtime.app).handle(request)


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    """Events, interactivity and the /ocma command (signatures checked by Bolt)."""
    return await _handle(request)


@router.get("/slack/install", include_in_schema=False)
async def slack_install(request: Request) -> Response:
    """Start the OAuth installation (multi-workspace mode)."""
    return await _handle(request)


@router.get("/slack/oauth_redirect", include_in_schema=False)
async def slack_oauth_redirect(request: Request) -> Response:
    """Finish the OAuth installation."""
    return await _handle(request)
