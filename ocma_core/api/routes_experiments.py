"""A/B experiments and competitor accounts (included by routes_analytics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.context import Ocma
from ocma_core.db.models import Role

router = APIRouter(tags=["experiments"])


class VariantIn(BaseModel):
    """One variant: text, and optionally its own accounts and time."""

    label: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=100_000)
    account_ids: list[str] | None = None
    scheduled_at: datetime | None = None
    source: str = Field("hand", pattern="^(hand|optimizer)$")


class ExperimentIn(BaseModel):
    """An experiment to create; its variants become posts (scheduled where a time is given)."""

    name: str = Field(min_length=1, max_length=200)
    hypothesis: str = ""
    account_ids: list[str] = Field(default_factory=list, description="Default accounts of every variant.")
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    alpha: float = Field(0.05, gt=0, lt=0.5)
    min_lift: float = Field(0.2, gt=0, lt=10, description="Smallest relative difference worth detecting.")


@router.post("/v1/experiments", status_code=201)
def create(body: ExperimentIn, caller: Caller = Depends(require(Role.EDITOR)),
           ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """Create an A/B experiment and one post per variant."""
    from ocma_core.analytics import experiments

    specs = [experiments.VariantSpec(v.label, v.body, v.account_ids, v.scheduled_at, v.source) for v in body.variants]
    exp = experiments.create_experiment(ocma, caller.workspace_id, body.name, specs, account_ids=body.account_ids,
                                        hypothesis=body.hypothesis, alpha=body.alpha, min_lift=body.min_lift,
                                        created_by=f"apikey:{caller.key_id}")
    return experiments.summary(ocma, exp)


@router.get("/v1/experiments")
def list_(caller: Caller = Depends(require()), ocma: Ocma = Depends(get_ocma)) -> list[dict[str, Any]]:
    """The workspace's experiments with their last verdict."""
    from ocma_core.analytics import experiments

    return [experiments.summary(ocma, e) for e in experiments.list_experiments(ocma, caller.workspace_id)]


@router.get("/v1/experiments/{experiment_id}")
def get(experiment_id: str, caller: Caller = Depends(require()), ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """One experiment."""
    from ocma_core.analytics import experiments

    return experiments.summary(ocma, experiments.get_experiment(ocma, caller.workspace_id, experiment_id))


@router.post("/v1/experiments/{experiment_id}/evaluate")
def evaluate(experiment_id: str, caller: Caller = Depends(require()),
             ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """Judge the experiment now from stored snapshots (the decision rule is in the answer)."""
    from ocma_core.analytics import experiments

    return experiments.evaluate(ocma, caller.workspace_id, experiment_id)


class CompetitorIn(BaseModel):
    """A competitor to follow on one platform, read through one of our accounts there."""

    platform: str = Field(min_length=1)
    handle: str = Field(min_length=1, max_length=255)
    via_account_id: str


@router.post("/v1/competitors", status_code=201)
def add_competitor(body: CompetitorIn, caller: Caller = Depends(require(Role.EDITOR)),
                   ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """Follow a competitor's public metrics (only where the platform's API allows reading them)."""
    from ocma_core.analytics import competitors

    row = competitors.add_competitor(ocma, caller.workspace_id, body.platform, body.handle, body.via_account_id)
    return row.model_dump(mode="json")


@router.get("/v1/competitors")
def list_competitors(caller: Caller = Depends(require()), ocma: Ocma = Depends(get_ocma)) -> list[dict[str, Any]]:
    """Followed competitors."""
    from ocma_core.analytics import competitors

    return [c.model_dump(mode="json") for c in competitors.list_competitors(ocma, caller.workspace_id)]


@router.delete("/v1/competitors/{competitor_id}", status_code=204)
def remove_competitor(competitor_id: str, caller: Caller = Depends(require(Role.EDITOR)),
                      ocma: Ocma = Depends(get_ocma)) -> None:
    """Stop following a competitor (its snapshots are deleted)."""
    from ocma_core.analytics import competitors

    competitors.remove_competitor(ocma, caller.workspace_id, competitor_id)


@router.post("/v1/competitors/{competitor_id}/refresh")
async def refresh_competitor(competitor_id: str, caller: Caller = Depends(require(Role.EDITOR)),
                             ocma: Ocma = Depends(get_ocma)) -> dict[str, Any]:
    """Read the competitor's public metrics now."""
    import asyncio

    from ocma_core.analytics import competitors
    from ocma_core.errors import ConflictError, NotFoundError, PlatformError
    from ocma_core.registry import get_platform

    rows = await asyncio.to_thread(competitors.list_competitors, ocma, caller.workspace_id)
    row = next((c for c in rows if c.id == competitor_id), None)
    if row is None:
        raise NotFoundError(f"No competitor {competitor_id} in this workspace.")
    try:
        snap = await competitors.fetch_competitor(ocma, competitor_id, get_platform(row.platform))
    except PlatformError as exc:
        raise ConflictError(f"{row.platform} did not give the metrics: {exc.message}",
                            fix="Try again later; check the account with `ocma accounts list`.") from exc
    return {"values": snap.values, "unavailable": list(snap.unavailable), "fetched_at": snap.fetched_at.isoformat(),
            "note": snap.note}
