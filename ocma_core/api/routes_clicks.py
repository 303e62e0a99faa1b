"""Link clicks (docs/clicks.md): the receiver's secret, clicks per UTM campaign and a post's link clicks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.context import Ocma
from ocma_core.permissions import Action

router = APIRouter(tags=["analytics"])
PERIOD = Query("last-week", description="last-week, this-month, last-30-days, 2026-03, 2026-W10, FROM..TO")


@router.get("/v1/analytics/campaigns")
def campaigns(
    period: str = PERIOD,
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Link clicks per UTM campaign in the period (days in the workspace's timezone); `total` is null when no
    click receiver is configured and nothing was recorded (not measured, rather than 0)."""
    from ocma_core.analytics.reports import resolve_period
    from ocma_core.clicks.views import campaigns as per_campaign

    return per_campaign(ocma, caller.workspace_id, resolve_period(ocma, caller.workspace_id, period))


@router.get("/v1/metrics/posts/{post_id}/clicks", responses=errors(404))
def post_clicks(
    post_id: str,
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """A post's link clicks beside its platform snapshots: cumulative snapshots, per day and per UTM values
    (`link_clicks` null when clicks are not measured)."""
    from ocma_core.clicks.views import post_clicks as of_post

    return of_post(ocma, caller.workspace_id, post_id)


@router.get("/v1/analytics/clicks-receiver")
def receiver_status(
    caller: Caller = Depends(require(Action.WEBHOOKS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Whether POST /webhooks/analytics takes this workspace's clicks, since when, and the last delivery."""
    from ocma_core.clicks.secret import hook_status

    return {**hook_status(ocma, caller.workspace_id), **_where(ocma, caller.workspace_id)}


@router.post("/v1/analytics/clicks-receiver/secret", status_code=201, responses=errors(404, 409))
def make_secret(
    rotate: bool = Query(False, description="Replace the secret; the old one verifies for 24 hours more."),
    caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Create (or rotate) the receiver's Standard Webhooks secret; it is shown in this answer only."""
    from ocma_core.clicks.secret import make_secret as make

    made = make(ocma, caller.workspace_id, rotate=rotate)
    until = made.previous_valid_until
    return {
        "secret": made.secret,
        "rotated": made.rotated,
        "previous_secret_valid_until": until.isoformat() if until else None,
        **_where(ocma, caller.workspace_id),
    }


@router.delete(
    "/v1/analytics/clicks-receiver", status_code=204, response_class=Response, responses=errors(404)
)
def remove_secret(
    caller: Caller = Depends(require(Action.WEBHOOKS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> None:
    """Stop taking clicks for this workspace (deliveries are refused; recorded clicks stay)."""
    from ocma_core.clicks.secret import remove_secret as remove

    remove(ocma, caller.workspace_id)


def _where(ocma: Ocma, workspace_id: str) -> dict[str, Any]:
    base = (ocma.settings.public_url or "").rstrip("/")
    return {
        "url": f"{base}/webhooks/analytics" if base else "/webhooks/analytics",
        "workspace_header": {"ocma-workspace": workspace_id},
    }
