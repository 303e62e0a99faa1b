"""Platform webhooks: handshakes (CRC / challenge), signature checks, and metric updates."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ocma_core.api.auth import get_ocma
from ocma_core.context import Ocma
from ocma_core.platforms import Capability
from ocma_core.registry import get_platform

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)


def _webhook_platform(name: str):  # type: ignore[no-untyped-def]
    platform = get_platform(name)
    if Capability.WEBHOOKS not in platform.capabilities:
        raise HTTPException(404, f"{platform.name} sends no webhooks to OCMA.")
    return platform


@router.get("/webhooks/{platform}", include_in_schema=False)
def handshake(platform: str, request: Request) -> Response:
    """Answer the platform's verification request (X CRC, LinkedIn challenge, Meta hub.challenge)."""
    plat = _webhook_platform(platform)
    answer = plat.webhook_challenge(dict(request.query_params))
    if answer is None:
        raise HTTPException(400, "Not a webhook verification request for this platform.")
    status, body = answer
    if isinstance(body, str):
        return PlainTextResponse(body, status_code=status)
    return JSONResponse(body, status_code=status)


@router.post("/webhooks/{platform}", include_in_schema=False)
async def deliver(platform: str, request: Request, ocma: Ocma = Depends(get_ocma)) -> dict[str, int]:
    """Verify a delivery's signature on the raw body, then store the metrics it carries."""
    plat = _webhook_platform(platform)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not plat.verify_webhook(headers, body):
        raise HTTPException(401, "Invalid webhook signature.")
    from ocma_core.services.metrics import ingest_webhook

    events = plat.parse_webhook(body)
    stored = ingest_webhook(ocma, plat.name, events)
    return {"events": len(events), "stored": stored}
