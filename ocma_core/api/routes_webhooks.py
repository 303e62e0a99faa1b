"""Inbound webhooks at /webhooks/{name}: plugins' receivers (payments, analytics; register_webhook_receivers)
and platforms' webhooks (handshakes (CRC / challenge), signature checks, and metric updates)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ocma_core.api.auth import get_ocma
from ocma_core.context import Ocma
from ocma_core.known_plugins import RECEIVER_PACKAGES
from ocma_core.observe.instruments import WEBHOOKS
from ocma_core.platforms import Capability
from ocma_core.registry import get_platform
from ocma_core.webhook_receivers import WebhookReceiver, WebhookRefused

router = APIRouter(tags=["webhooks"])
MAX_WEBHOOK_BYTES = 1_000_000  # X and LinkedIn deliveries are a few KB
REPLAY_WINDOW_S = 7 * 24 * 3600  # a delivery seen in the last week is not processed again
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
async def deliver(platform: str, request: Request, ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """Verify a delivery's signature on the raw body, then store what it carries (a plugin's receiver of that
    name, else the platform's metrics and conversation events)."""
    from ocma_core.registry import get_platforms
    from ocma_core.webhook_receivers import receivers

    # A platform's own path wins: a receiver that shares its name never sees (or swallows) its deliveries.
    receiver = receivers().get(platform) if platform not in get_platforms() else None
    if receiver is not None:
        return await _receive(receiver, request, ocma)
    if platform in RECEIVER_PACKAGES:
        raise HTTPException(404, f"No {platform} receiver here: install {RECEIVER_PACKAGES[platform]}.")
    plat = _webhook_platform(platform)
    outcome = "error"
    try:
        body = await _capped_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not plat.verify_webhook(headers, body):
            outcome = "bad_signature"
            raise HTTPException(401, "Invalid webhook signature.")
        from ocma_core.services.metrics import ingest_webhook
        from ocma_core.services.once import claim_once, release_once
        from ocma_core.services.webhook_events import (
            record_conversation_events,
            revoked_accounts,
            settle_pending,
        )

        digest = hashlib.sha256(body).hexdigest()
        once = f"webhook:{plat.name}:{digest}"
        if not await asyncio.to_thread(claim_once, ocma, once, REPLAY_WINDOW_S):
            outcome = "duplicate"
            return {"events": 0, "stored": 0, "duplicate": 1}  # a retry or a replay: stored once already
        try:
            events = plat.parse_webhook(body)
            stored = await asyncio.to_thread(ingest_webhook, ocma, plat.name, events)
            await asyncio.to_thread(record_conversation_events, ocma, plat.name, events)
            await asyncio.to_thread(settle_pending, ocma, plat.name, events)
            await asyncio.to_thread(revoked_accounts, ocma, plat.name, events)
        except Exception:
            # Not handled: the platform's retry must be taken, not answered as a duplicate.
            await asyncio.to_thread(release_once, ocma, once)
            raise
        outcome = "stored"
        return {"events": len(events), "stored": stored}
    finally:
        WEBHOOKS.labels(plat.name, outcome).inc()


async def _receive(receiver: WebhookReceiver, request: Request, ocma: Ocma) -> dict[str, Any]:
    """Hand the raw body and headers to a registered receiver; its refusals become 4xx answers."""
    outcome = "error"
    try:
        body = await _capped_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            answer = await asyncio.to_thread(receiver.handle, ocma, headers, body)
        except WebhookRefused as exc:
            outcome = "refused"
            status = exc.status if 400 <= exc.status < 500 or exc.status == 503 else 400
            raise HTTPException(status, exc.message) from None
        outcome = "stored"
        return answer
    finally:
        WEBHOOKS.labels(receiver.name, outcome).inc()


async def _capped_body(request: Request) -> bytes:
    """The raw body, read as a stream and refused past MAX_WEBHOOK_BYTES (before any signature work)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise HTTPException(413, f"Webhook deliveries are at most {MAX_WEBHOOK_BYTES} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise HTTPException(413, f"Webhook deliveries are at most {MAX_WEBHOOK_BYTES} bytes.")
    return bytes(body)
