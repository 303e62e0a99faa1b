"""Inbound webhooks at /webhooks/{source}, one shape for every source: the receiver of that name (a platform's,
built by the core, or a plugin's from register_webhook_receivers) answers the GET handshake and takes each
POSTed delivery, its raw body capped at MAX_WEBHOOK_BYTES before any signature work."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ocma_core.api.auth import get_ocma
from ocma_core.api.problems import problem
from ocma_core.context import Ocma
from ocma_core.known_plugins import PLATFORM_PACKAGES, RECEIVER_PACKAGES, install_hint
from ocma_core.observe.instruments import WEBHOOKS
from ocma_core.webhook_receivers import WebhookReceiver, WebhookRefused, receivers

router = APIRouter(tags=["webhooks"])
MAX_WEBHOOK_BYTES = 1_000_000  # X and LinkedIn deliveries are a few KB, Stripe's tens of KB


def _receiver(source: str) -> WebhookReceiver:
    """The receiver at /webhooks/{source}, or a 404 saying what to install."""
    found = receivers().get(source)
    if found is not None:
        return found
    from ocma_core.registry import get_platforms

    if source in get_platforms():
        raise HTTPException(404, f"{source} sends no webhooks to OCMA.")
    if source in RECEIVER_PACKAGES:
        raise HTTPException(404, f"No {source} receiver here: install {RECEIVER_PACKAGES[source]}.")
    hint = install_hint(source, {**PLATFORM_PACKAGES, **RECEIVER_PACKAGES}, "platform and receiver")
    raise HTTPException(404, f"No webhook receiver {source[:40]!r} here. {hint}")


@router.get("/webhooks/{source}", include_in_schema=False)
def handshake(source: str, request: Request) -> Response:
    """Answer the sender's verification request (X CRC, LinkedIn challenge, Meta hub.challenge)."""
    receiver = _receiver(source)
    if receiver.challenge is None:  # answered here: the route itself also allows GET, this receiver does not
        refused = problem(
            405,
            "Method not allowed",
            f"/webhooks/{source} takes deliveries (POST) only: its sender does not verify the URL with a GET.",
            request,
            fix="POST each delivery, signed as the sender signs it.",
        )
        refused.headers["Allow"] = "POST"
        return refused
    answer = receiver.challenge(dict(request.query_params))
    if answer is None:
        raise HTTPException(400, f"Not a webhook verification request for {source}.")
    status, body = answer
    if isinstance(body, str):
        return PlainTextResponse(body, status_code=status)
    return JSONResponse(body, status_code=status)


@router.post("/webhooks/{source}", include_in_schema=False)
async def deliver(source: str, request: Request, ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """Hand the raw body and headers to the receiver, which verifies the signature and stores the delivery;
    its refusals become 4xx answers."""
    receiver = _receiver(source)
    outcome = "error"
    try:
        body = await _capped_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            answer = await asyncio.to_thread(receiver.handle, ocma, headers, body)
        except WebhookRefused as exc:
            outcome = exc.outcome
            status = exc.status if 400 <= exc.status < 500 or exc.status == 503 else 400
            raise HTTPException(status, exc.message) from None
        outcome = "duplicate" if answer.get("duplicate") else "stored"
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
