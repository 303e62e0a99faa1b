"""AI usage records and per-workspace daily/monthly budgets.

Before a call the core reserves the call's worst-case cost as an AIUsage row (under a lock on the workspace
row on PostgreSQL, so concurrent calls cannot both squeeze under the budget), then settles it with the real
tokens and cost, or deletes it when the call failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from ocma_core.ai.errors import AINotConfigured, BudgetExceeded
from ocma_core.ai.settings import AIConfig
from ocma_core.context import Ocma
from ocma_core.db.models import AIUsage, Workspace
from ocma_core.db.types import utcnow

RESERVED = "reserved estimate (call in progress or interrupted)"


@dataclass(frozen=True)
class Periods:
    """Start of the workspace's current day and month, in UTC."""

    day_start: datetime
    month_start: datetime
    next_day: datetime
    next_month: datetime


def periods(timezone: str, now: datetime | None = None) -> Periods:
    """Budget periods follow the workspace's timezone: a day starts at its local midnight."""
    zone = ZoneInfo(timezone)
    local = (now or utcnow()).astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_day = (day + timedelta(days=1, hours=2)).replace(hour=0)
    next_month = (month + timedelta(days=32)).replace(day=1)
    utc = ZoneInfo("UTC")
    return Periods(
        day.astimezone(utc), month.astimezone(utc), next_day.astimezone(utc), next_month.astimezone(utc)
    )


def spent_since(session: Session, workspace_id: str, since: datetime) -> float:
    """USD recorded (including reservations) since `since`."""
    total = session.exec(
        select(func.coalesce(func.sum(AIUsage.cost_usd), 0.0)).where(
            AIUsage.workspace_id == workspace_id, col(AIUsage.created_at) >= since
        )
    ).one()
    return float(total or 0.0)


def _refuse(
    which: str, spent: float, budget: float, estimate: float, config: AIConfig, resets: datetime
) -> None:
    flag = "--daily" if which == "daily" else "--monthly"
    field = f"{which}_budget_usd"
    wait = f"{resets.astimezone(ZoneInfo(config.timezone)):%Y-%m-%d %H:%M} {config.timezone}"
    raise BudgetExceeded(
        f"This call would exceed the workspace's {which} AI budget: ${spent:.4f} of ${budget:.2f} is spent "
        f"and this call may cost up to ${estimate:.4f}.",
        fix=f"An admin can raise the {which} budget, or wait for the reset at {wait}.",
        fixes={
            "cli": f"Raise it with `ocma ai set {flag} {max(budget * 2, spent + estimate):.2f}`, or wait for the "
            f"reset at {wait}.",
            "api": f'Raise it with PUT /v1/ai/settings {{"{field}": ...}} (admin), or wait for the reset at {wait}.',
        },
    )


def reserve(
    ocma: Ocma, config: AIConfig, *, provider: str, model: str, kind: str, estimate: float | None
) -> str | None:
    """Check the budgets and hold `estimate`; returns the reservation id (None when no budget applies)."""
    budgets = [
        (w, b)
        for w, b in (("daily", config.daily_budget_usd), ("monthly", config.monthly_budget_usd))
        if b is not None
    ]
    if not budgets:
        return None
    if estimate is None:
        raise AINotConfigured(
            f"The workspace has an AI budget, but the cost of {model} is unknown, so it cannot be enforced.",
            fix=f"Set a price for {model} in the workspace's AI settings.",
            fixes={
                "cli": f"Set a price: `ocma ai price {model} --input-per-token ... --output-per-token ...` "
                "(or --per-image for images).",
                "api": f'Set a price: PUT /v1/ai/settings {{"prices": {{"{model}": {{"input_per_token": ..., '
                f'"output_per_token": ...}}}}}} (or "per_image" for images).',
            },
        )
    span = periods(config.timezone)
    refused: tuple[str, float, float, datetime] | None = None
    with ocma.session() as session:
        # Serialise reservations per workspace (PostgreSQL row lock; SQLite serialises writers itself).
        session.exec(select(Workspace).where(Workspace.id == config.workspace_id).with_for_update()).first()
        for which, budget in budgets:
            since = span.day_start if which == "daily" else span.month_start
            spent = spent_since(session, config.workspace_id, since)
            if spent + estimate > budget + 1e-12:
                refused = (which, spent, budget, span.next_day if which == "daily" else span.next_month)
                break
        if refused is None:
            return _reserved(session, config, provider, model, kind, estimate)
    which, spent, budget, resets = refused
    _announce_exceeded(ocma, config.workspace_id, which, spent, budget, resets)
    _refuse(which, spent, budget, estimate, config, resets)
    return None


def _announce_exceeded(
    ocma: Ocma, workspace_id: str, which: str, spent: float, budget: float, resets: datetime
) -> None:
    """Record `budget.exceeded` once per workspace, budget and period (the first refused call tells)."""
    from ocma_core.events import Event, dispatch, record
    from ocma_core.services.once import claim_once

    ttl = max((resets - utcnow()).total_seconds(), 1.0)
    if not claim_once(ocma, f"budget.exceeded:{workspace_id}:{which}:{resets.isoformat()}", ttl):
        return
    payload = {
        "period": which,
        "spent": round(spent, 6),
        "budget": budget,
        "currency": "USD",
        "resets_at": resets.isoformat(),
    }
    event = Event("budget.exceeded", workspace_id, payload)
    with ocma.session() as session:
        record(session, event)
    dispatch(event, ocma)


def _reserved(
    session: Session, config: AIConfig, provider: str, model: str, kind: str, estimate: float
) -> str:
    """Hold `estimate` as a reservation row; its id."""
    row = AIUsage(
        workspace_id=config.workspace_id,
        provider=provider[:64],
        model=model[:255],
        kind=kind,
        cost_usd=estimate,
        cost_source=RESERVED,
    )
    session.add(row)
    return row.id


def settle(
    ocma: Ocma,
    workspace_id: str,
    reservation: str | None,
    *,
    provider: str,
    model: str,
    kind: str,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float | None,
    cost_source: str,
) -> str:
    """Record the real usage of a finished call (replacing its reservation); returns the usage id."""
    with ocma.session() as session:
        row = session.get(AIUsage, reservation) if reservation else None
        if row is None:
            row = AIUsage(workspace_id=workspace_id, provider=provider[:64], model=model[:255])
        row.provider, row.model, row.kind = provider[:64], model[:255], kind
        row.prompt_tokens, row.completion_tokens = prompt_tokens, completion_tokens
        row.cost_usd, row.cost_source = cost_usd, cost_source[:64]
        session.add(row)
        return row.id


def release(ocma: Ocma, reservation: str | None) -> None:
    """Drop the reservation of a call that failed (nothing was spent)."""
    if reservation is None:
        return
    with ocma.session() as session:
        row = session.get(AIUsage, reservation)
        if row is not None and row.cost_source == RESERVED:
            session.delete(row)


def usage_summary(ocma: Ocma, config: AIConfig) -> dict[str, Any]:
    """Spend and tokens today and this month (workspace timezone), per model, against the budgets."""
    span = periods(config.timezone)
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(AIUsage).where(
                    AIUsage.workspace_id == config.workspace_id, col(AIUsage.created_at) >= span.month_start
                )
            )
        )

    def total(since: datetime) -> dict[str, Any]:
        chosen = [r for r in rows if r.created_at >= since]
        unknown = sum(1 for r in chosen if r.cost_usd is None)
        return {
            "calls": len(chosen),
            "cost_usd": round(sum(r.cost_usd or 0.0 for r in chosen), 8),
            "calls_with_unknown_cost": unknown,
            "prompt_tokens": sum(r.prompt_tokens for r in chosen),
            "completion_tokens": sum(r.completion_tokens for r in chosen),
        }

    by_model: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_model.setdefault(
            r.model, {"calls": 0, "cost_usd": 0.0, "kind": r.kind, "cost_sources": []}
        )
        entry["calls"] += 1
        entry["cost_usd"] = round(entry["cost_usd"] + (r.cost_usd or 0.0), 8)
        if r.cost_source not in entry["cost_sources"]:
            entry["cost_sources"].append(r.cost_source)
    today, month = total(span.day_start), total(span.month_start)
    return {
        "timezone": config.timezone,
        "today": today,
        "this_month": month,
        "by_model_this_month": by_model,
        "budgets": {
            "daily_usd": config.daily_budget_usd,
            "daily_remaining_usd": None
            if config.daily_budget_usd is None
            else round(max(0.0, config.daily_budget_usd - today["cost_usd"]), 8),
            "monthly_usd": config.monthly_budget_usd,
            "monthly_remaining_usd": None
            if config.monthly_budget_usd is None
            else round(max(0.0, config.monthly_budget_usd - month["cost_usd"]), 8),
        },
    }
