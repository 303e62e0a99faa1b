"""Outbound webhooks of the caller's workspace: add (the secret is shown once), list, change (rotation keeps
the old secret signing for a day), remove, read the delivery log, redeliver and ping. Admins and owners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.context import Ocma
from ocma_core.permissions import Action
from ocma_core.services import webhooks as svc

router = APIRouter(tags=["webhooks"])


class NewWebhook(BaseModel):
    """An endpoint to add."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Where to POST (http or https, a public address).")
    events: list[str] = Field(
        default_factory=list, max_length=100, description="Kinds to send (docs/events.md); empty: all."
    )
    description: str = Field("", max_length=255)


class WebhookChange(BaseModel):
    """What to change on an endpoint (fields left out stay)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=255)
    enabled: bool | None = None
    rotate_secret: bool = Field(False, description="Make a new secret; the old one signs too for 24 h.")


class Redelivery(BaseModel):
    """One delivery, or every delivery made since a time."""

    model_config = ConfigDict(extra="forbid")

    delivery_id: str | None = Field(None, max_length=64)
    since: datetime | None = None


def _shown(result: svc.WithSecret | Any) -> dict[str, Any]:
    if isinstance(result, svc.WithSecret):
        return {**svc.view(result.webhook), "secret": result.secret}
    return svc.view(result)


@router.post("/v1/webhooks", status_code=201)
def add_webhook(
    body: NewWebhook,
    caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Add an endpoint; `secret` (whsec_...) is in this answer only: store it to verify signatures."""
    return _shown(svc.create_webhook(ocma, caller.workspace_id, body.url, body.events, body.description))


@router.get("/v1/webhooks")
def list_webhooks(
    caller: Caller = Depends(require(Action.WEBHOOKS_READ)), ocma: Ocma = Depends(get_ocma)
) -> list[dict[str, Any]]:
    """Every endpoint of the workspace (never a secret)."""
    return [svc.view(h) for h in svc.list_webhooks(ocma, caller.workspace_id)]


@router.get("/v1/webhooks/{webhook_id}")
def get_webhook(
    webhook_id: str, caller: Caller = Depends(require(Action.WEBHOOKS_READ)), ocma: Ocma = Depends(get_ocma)
) -> dict[str, Any]:
    """One endpoint."""
    return svc.view(svc.get_webhook(ocma, caller.workspace_id, webhook_id))


@router.patch("/v1/webhooks/{webhook_id}")
def change_webhook(
    webhook_id: str,
    body: WebhookChange,
    caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Change an endpoint; with rotate_secret the new secret is in this answer only."""
    changes = {
        "url": body.url,
        "kinds": body.events,
        "description": body.description,
        "enabled": body.enabled,
    }
    result = svc.update_webhook(ocma, caller.workspace_id, webhook_id, changes, rotate=body.rotate_secret)
    return _shown(result)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204)
def remove_webhook(
    webhook_id: str, caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> Response:
    """Remove an endpoint and its delivery log."""
    svc.delete_webhook(ocma, caller.workspace_id, webhook_id)
    return Response(status_code=204)


@router.get("/v1/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    caller: Caller = Depends(require(Action.WEBHOOKS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> list[dict[str, Any]]:
    """The endpoint's deliveries, newest first: status, attempts, response code, time and first bytes."""
    return [
        svc.delivery_view(d) for d in svc.deliveries(ocma, caller.workspace_id, webhook_id, limit, offset)
    ]


@router.post("/v1/webhooks/{webhook_id}/redeliver")
def redeliver(
    webhook_id: str,
    body: Redelivery,
    caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, int]:
    """Send one delivery again, or all since a time (same webhook-id, so receivers de-duplicate)."""
    count = svc.redeliver(
        ocma, caller.workspace_id, webhook_id, delivery_id=body.delivery_id, since=body.since
    )
    return {"queued": count}


@router.post("/v1/webhooks/{webhook_id}/ping")
def ping(
    webhook_id: str, caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> dict[str, Any]:
    """Send a signed `webhook.ping` now and answer with its delivery (status, response code and body)."""
    from ocma_core.webhook_delivery import ping as send_ping

    return svc.delivery_view(send_ping(ocma, caller.workspace_id, webhook_id))
