"""Analytics: reports, best times, trends, predictions, A/B experiments, competitors, metrics collection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.api.schemas import (
    AnalyzerOut,
    BestTimeOut,
    CollectOut,
    CompetitorOut,
    CompetitorSnapshotOut,
    EvaluationOut,
    ExperimentOut,
    NextBestTimeOut,
    SnapshotOut,
)
from ocma_core.context import Ocma
from ocma_core.permissions import Action
from ocma_core.services.post_input import IsoDatetime

router = APIRouter(tags=["analytics"])
PERIOD = Query("last-week", description="last-week, this-month, last-30-days, 2026-03, 2026-W10, FROM..TO")


@router.get(
    "/v1/reports",
    response_model=None,
    responses={
        200: {
            "description": "The report: JSON, text (format=text) or CSV rows (format=csv).",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/plain": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def report(
    period: str = PERIOD,
    format: str = Query("json", pattern="^(json|text|csv)$"),
    account_id: list[str] | None = Query(None),
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> Any:
    """The period's report from stored snapshots: JSON, text (for chat) or CSV (post rows)."""
    from ocma_core.analytics import reports

    if format == "csv":
        return PlainTextResponse(
            reports.to_csv(reports.export_rows(ocma, caller.workspace_id, period)), media_type="text/csv"
        )
    data = reports.build_report(ocma, caller.workspace_id, period, account_ids=account_id)
    if format == "text":
        return PlainTextResponse(reports.render_text(data))
    return data


@router.get(
    "/v1/reports/chart.png",
    response_class=Response,
    responses={
        200: {
            "description": "A PNG image.",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def chart(
    kind: str = Query("engagement", pattern="^(engagement|followers|best_times)$"),
    period: str = PERIOD,
    account_id: str | None = None,
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> Response:
    """A PNG chart: engagement per post, followers, or the best-times heatmap of one account."""
    from ocma_core.analytics import charts, reports
    from ocma_core.analytics.base import make_context

    ctx = make_context(ocma, caller.workspace_id, reports.resolve_period(ocma, caller.workspace_id, period))
    return Response(charts.render(ctx, kind, account_id=account_id), media_type="image/png")


@router.get(
    "/v1/analytics/export",
    response_model=None,
    responses={
        200: {
            "description": "Post rows as CSV (format=csv) or a JSON array (format=json).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
def export(
    period: str = PERIOD,
    format: str = Query("csv", pattern="^(csv|json)$"),
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> Any:
    """Post-level rows (latest snapshot of each published target) as CSV or JSON."""
    from ocma_core.analytics import reports

    rows = reports.export_rows(ocma, caller.workspace_id, period)
    if format == "csv":
        return PlainTextResponse(reports.to_csv(rows), media_type="text/csv")
    return rows


@router.get("/v1/analytics/analyzers")
def analyzers(caller: Caller = Depends(require(Action.ANALYTICS_READ))) -> list[AnalyzerOut]:
    """Registered analyzers (built-in and from plugins)."""
    from ocma_core.analytics.registry import get_analyzers

    return [
        AnalyzerOut(
            name=name,
            title=getattr(a, "title", name),
            in_report=getattr(a, "in_report", True),
            description=(type(a).__doc__ or "").strip(),
        )
        for name, a in sorted(get_analyzers().items())
    ]


@router.get("/v1/analytics/run/{name}")
def run_analyzer(
    name: str,
    period: str = PERIOD,
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Run one registered analyzer on a period."""
    from ocma_core.analytics import reports
    from ocma_core.analytics.base import make_context
    from ocma_core.analytics.registry import get_analyzer

    ctx = make_context(ocma, caller.workspace_id, reports.resolve_period(ocma, caller.workspace_id, period))
    return get_analyzer(name).run(ctx)


@router.get("/v1/analytics/best-times", responses=errors(404))
def best_times(
    platform: str | None = None,
    account_id: str | None = None,
    top: int = Query(3, ge=1, le=20),
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> list[BestTimeOut]:
    """Best hours of the week per account, with 90% intervals, supporting posts and the prior used."""
    from ocma_core.analytics.answers import best_times as compute

    found = compute(ocma, caller.workspace_id, platform=platform, account_id=account_id, top=top)
    return [BestTimeOut.model_validate(row) for row in found]


@router.get("/v1/analytics/next-best-time", responses=errors(404))
def next_best_time(
    account_id: list[str] = Query(...),
    after: IsoDatetime | None = Query(None, description="Start looking after this time (ISO 8601)."),
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> NextBestTimeOut:
    """The next occurrence of the best slot for these accounts together (for scheduling at the best time)."""
    from ocma_core.analytics.answers import next_best_time as compute

    return NextBestTimeOut.model_validate(compute(ocma, caller.workspace_id, account_id, after=after))


class PredictRequest(BaseModel):
    """A draft to forecast on one account."""

    account_id: str
    text: str = Field(max_length=100_000)
    media_count: int = Field(0, ge=0, le=20, strict=True)
    has_video: bool = Field(False, strict=True)
    thread_parts: int = Field(1, ge=1, le=25, strict=True)
    scheduled_at: IsoDatetime | None = None


@router.post("/v1/analytics/predict", responses=errors(404))
def predict(
    body: PredictRequest,
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> dict[str, Any]:
    """Expected engagement of a draft from the account's own history, with the backtested error beside it."""
    from ocma_core.analytics.base import make_context, now_period
    from ocma_core.analytics.registry import get_analyzer
    from ocma_core.services.workspaces import get_workspace

    tz = get_workspace(ocma, caller.workspace_id).timezone
    ctx = make_context(
        ocma, caller.workspace_id, now_period(tz), account_ids=[body.account_id], params=body.model_dump()
    )
    if not ctx.accounts:
        from ocma_core.errors import NotFoundError

        raise NotFoundError(f"No account {body.account_id} in this workspace.")
    return get_analyzer("prediction").run(ctx)


@router.get("/v1/metrics/posts/{post_id}")
def post_snapshots(
    post_id: str,
    limit: int = Query(1000, ge=1, le=5000),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(require(Action.ANALYTICS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> list[SnapshotOut]:
    """Stored snapshots of a post's targets, oldest first, as the platform named the values (page with limit
    and offset)."""
    from sqlmodel import col, select

    from ocma_core.db.models import PostMetricSnapshot, Target
    from ocma_core.services.posts import get_post

    get_post(ocma, caller.workspace_id, post_id)
    with ocma.session() as session:
        rows = session.exec(
            select(PostMetricSnapshot, Target.platform)
            .join(Target, col(Target.id) == col(PostMetricSnapshot.target_id))
            .where(col(Target.post_id) == post_id)
            .order_by(col(PostMetricSnapshot.fetched_at), col(PostMetricSnapshot.id))
            .offset(offset)
            .limit(limit)
        ).all()
        return [
            SnapshotOut(
                snapshot_id=s.id,
                target_id=s.target_id,
                account_id=s.account_id,
                platform=platform,
                fetched_at=s.fetched_at,
                source=s.source,
                values=s.values,
                unavailable=list(s.unavailable),
            )
            for s, platform in rows
        ]


@router.post("/v1/metrics/collect")
async def collect(
    limit: int = Query(200, ge=1, le=5000),
    caller: Caller = Depends(require(Action.METRICS_COLLECT)),
    ocma: Ocma = Depends(get_ocma),
) -> CollectOut:
    """Collect the workspace's due metrics now (respecting rate limits); returns what happened."""
    from ocma_core.services.metrics import collect_round

    result = await collect_round(ocma, limit, workspace_id=caller.workspace_id)
    return CollectOut(
        stored=result.stored,
        items=result.items,
        deferred=result.deferred,
        failed=result.failed,
        errors=result.errors[:50],
    )


# ----- A/B experiments and competitors ---------------------------------------------------------------
class VariantIn(BaseModel):
    """One variant: text, and optionally its own accounts and time."""

    label: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=100_000)
    account_ids: list[str] | None = None
    scheduled_at: IsoDatetime | None = None
    source: str = Field("hand", pattern="^(hand|optimizer)$")


class ExperimentIn(BaseModel):
    """An experiment to create; its variants become posts (scheduled where a time is given)."""

    name: str = Field(min_length=1, max_length=200)
    hypothesis: str = ""
    account_ids: list[str] = Field(default_factory=list, description="Default accounts of every variant.")
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    alpha: float = Field(0.05, gt=0, lt=0.5, strict=True)
    min_lift: float = Field(
        0.2, gt=0, lt=10, strict=True, description="Smallest relative difference worth detecting."
    )
    horizon_hours: float = Field(
        24.0,
        ge=1,
        le=720,
        description="Age after publishing at which every variant post is measured and the experiment decided.",
    )


@router.post("/v1/experiments", status_code=201, responses=errors(404, 409))
def create(
    body: ExperimentIn,
    caller: Caller = Depends(require(Action.EXPERIMENTS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> ExperimentOut:
    """Create an A/B experiment and one post per variant."""
    from ocma_core.analytics import experiments

    specs = [
        experiments.VariantSpec(v.label, v.body, v.account_ids, v.scheduled_at, v.source)
        for v in body.variants
    ]
    exp = experiments.create_experiment(
        ocma,
        caller.workspace_id,
        body.name,
        specs,
        account_ids=body.account_ids,
        hypothesis=body.hypothesis,
        alpha=body.alpha,
        min_lift=body.min_lift,
        horizon_hours=body.horizon_hours,
        created_by=f"apikey:{caller.key_id}",
    )
    return ExperimentOut.model_validate(experiments.summary(ocma, exp))


@router.get("/v1/experiments")
def list_(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(require(Action.EXPERIMENTS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> list[ExperimentOut]:
    """The workspace's experiments with their last verdict, newest first (page with limit and offset)."""
    from ocma_core.analytics import experiments

    found = experiments.list_experiments(ocma, caller.workspace_id, limit=limit, offset=offset)
    return [ExperimentOut.model_validate(experiments.summary(ocma, e)) for e in found]


@router.get("/v1/experiments/{experiment_id}")
def get(
    experiment_id: str,
    caller: Caller = Depends(require(Action.EXPERIMENTS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> ExperimentOut:
    """One experiment."""
    from ocma_core.analytics import experiments

    found = experiments.get_experiment(ocma, caller.workspace_id, experiment_id)
    return ExperimentOut.model_validate(experiments.summary(ocma, found))


@router.post("/v1/experiments/{experiment_id}/evaluate")
def evaluate(
    experiment_id: str,
    caller: Caller = Depends(require(Action.EXPERIMENTS_FINALISE)),
    ocma: Ocma = Depends(get_ocma),
) -> EvaluationOut:
    """Judge the experiment now from stored snapshots (the decision rule is in the answer)."""
    from ocma_core.analytics import experiments

    return EvaluationOut.model_validate(experiments.evaluate(ocma, caller.workspace_id, experiment_id))


class CompetitorIn(BaseModel):
    """A competitor to follow on one platform, read through one of our accounts there."""

    model_config = ConfigDict(strict=True, extra="forbid")

    platform: str = Field(min_length=1, max_length=64)
    handle: str = Field(min_length=1, max_length=255)
    via_account_id: str


@router.post("/v1/competitors", status_code=201, responses=errors(404, 409, 429, 502))
def add_competitor(
    body: CompetitorIn,
    caller: Caller = Depends(require(Action.COMPETITORS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> CompetitorOut:
    """Follow a competitor's public metrics (only where the platform's API allows reading them)."""
    from ocma_core.analytics import competitors

    row = competitors.add_competitor(
        ocma, caller.workspace_id, body.platform, body.handle, body.via_account_id
    )
    return CompetitorOut.model_validate(row.model_dump())


@router.get("/v1/competitors")
def list_competitors(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    caller: Caller = Depends(require(Action.COMPETITORS_READ)),
    ocma: Ocma = Depends(get_ocma),
) -> list[CompetitorOut]:
    """Followed competitors (page with limit and offset)."""
    from ocma_core.analytics import competitors

    rows = competitors.list_competitors(ocma, caller.workspace_id, limit=limit, offset=offset)
    return [CompetitorOut.model_validate(c.model_dump()) for c in rows]


@router.delete("/v1/competitors/{competitor_id}", status_code=204, response_class=Response)
def remove_competitor(
    competitor_id: str,
    caller: Caller = Depends(require(Action.COMPETITORS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> None:
    """Stop following a competitor (its snapshots are deleted)."""
    from ocma_core.analytics import competitors

    competitors.remove_competitor(ocma, caller.workspace_id, competitor_id)


@router.post("/v1/competitors/{competitor_id}/refresh", responses=errors(409))
async def refresh_competitor(
    competitor_id: str,
    caller: Caller = Depends(require(Action.COMPETITORS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> CompetitorSnapshotOut:
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
        raise ConflictError(
            f"{row.platform} did not give the metrics: {exc.message}",
            fix="Try again later; check the account with `ocma accounts list`.",
        ) from exc
    return CompetitorSnapshotOut(
        values=snap.values, unavailable=list(snap.unavailable), fetched_at=snap.fetched_at, note=snap.note
    )
