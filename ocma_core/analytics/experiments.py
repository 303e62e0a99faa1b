"""A/B experiments: publish variants to comparable slots or accounts, then judge them from stored snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from ocma_core.analytics.ab import Arm, History, Unit, at_age, decide
from ocma_core.analytics.ages import at_reference_age, load_at_reference, load_snapshot_series
from ocma_core.analytics.data import load_posts
from ocma_core.analytics.measures import choose_kind
from ocma_core.context import Ocma
from ocma_core.db.analytics_models import Experiment, ExperimentVariant
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError, ValidationFailed
from ocma_core.services.post_input import PostInput


@dataclass
class VariantSpec:
    """One variant to publish: its text, and optionally its own accounts and time."""

    label: str
    body: str
    account_ids: list[str] | None = None
    scheduled_at: datetime | None = None
    source: str = "hand"  # hand or optimizer


DEFAULT_HORIZON_HOURS = 24.0
FINAL = ("winner", "alike", "inconclusive")


def create_experiment(
    ocma: Ocma,
    workspace_id: str,
    name: str,
    variants: list[VariantSpec],
    *,
    account_ids: list[str],
    hypothesis: str = "",
    alpha: float = 0.05,
    min_lift: float = 0.2,
    created_by: str = "",
    horizon_hours: float = DEFAULT_HORIZON_HOURS,
) -> Experiment:
    """Create the experiment and one post per variant (scheduled where a time is given, else a draft).

    All in one transaction: if any variant is refused, no experiment and no post is left behind.
    """
    from ocma_core.services import posts
    from ocma_core.services.scheduling import after_schedule

    if len(variants) < 2:
        raise ValidationFailed("An experiment needs at least two variants.", fix="Add another variant.")
    if len({v.label for v in variants}) != len(variants):
        raise ValidationFailed("Variant labels must differ.", fix="Name the variants A, B, ...")
    if not 0 < alpha < 0.5 or not 0 < min_lift < 10:
        raise ValidationFailed("alpha must be in (0, 0.5) and min_lift in (0, 10).")
    if not 1 <= horizon_hours <= 24 * 30:
        raise ValidationFailed("horizon_hours must be between 1 and 720 (30 days).")
    inputs = [_variant_input(spec, account_ids) for spec in variants]
    experiment = Experiment(
        workspace_id=workspace_id,
        name=name,
        hypothesis=hypothesis,
        alpha=alpha,
        min_lift=min_lift,
        created_by=created_by,
        horizon_hours=horizon_hours,
    )
    scheduled = []
    with ocma.session() as session:
        session.add(experiment)
        session.flush()
        experiment_id = experiment.id
        for spec, data in zip(variants, inputs, strict=True):
            post, event = posts.create_post_in(
                ocma, session, workspace_id, data, created_by=created_by or "experiment"
            )
            scheduled.append((post, event))
            session.add(
                ExperimentVariant(
                    experiment_id=experiment_id,
                    label=spec.label,
                    body=spec.body,
                    source=spec.source,
                    post_id=post.id,
                )
            )
    for post, event in scheduled:
        after_schedule(ocma, post, event)
    return get_experiment(ocma, workspace_id, experiment_id)


def _variant_input(spec: VariantSpec, account_ids: list[str]) -> PostInput:
    """The post a variant becomes, or a ValidationFailed naming the variant and the field."""
    from pydantic import ValidationError

    from ocma_core.field_errors import field_problems

    try:
        return PostInput(
            body=spec.body,
            account_ids=spec.account_ids or account_ids,
            scheduled_at=spec.scheduled_at,
            action="schedule" if spec.scheduled_at else "draft",
        )
    except ValidationError as exc:
        found = field_problems(exc.errors(include_url=False))
        first = found[0]["message"] if found else "invalid"
        raise ValidationFailed(
            f"Variant {spec.label}: {first}.",
            problems=[{**p, "variant": spec.label} for p in found],
            fix="Give the experiment (or the variant) account_ids when a variant has a time.",
        ) from None


def get_experiment(ocma: Ocma, workspace_id: str, experiment_id: str) -> Experiment:
    """One experiment of the workspace."""
    with ocma.session() as session:
        found = session.get(Experiment, experiment_id)
        if found is None or found.workspace_id != workspace_id:
            raise NotFoundError(f"No experiment {experiment_id} in this workspace.")
        session.expunge(found)
        return found


def variants_of(ocma: Ocma, experiment_id: str) -> list[ExperimentVariant]:
    """The experiment's variants in creation order."""
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(ExperimentVariant)
                .where(col(ExperimentVariant.experiment_id) == experiment_id)
                .order_by(col(ExperimentVariant.created_at), col(ExperimentVariant.label))
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def list_experiments(ocma: Ocma, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Experiment]:
    """The workspace's experiments, newest first, one page (`limit` from `offset`)."""
    with ocma.session() as session:
        rows = list(
            session.exec(
                select(Experiment)
                .where(col(Experiment.workspace_id) == workspace_id)
                .order_by(col(Experiment.created_at).desc(), col(Experiment.id))
                .offset(offset)
                .limit(limit)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def evaluate(ocma: Ocma, workspace_id: str, experiment_id: str, *, history_days: int = 90) -> dict[str, Any]:
    """Judge the experiment from stored snapshots, every post at the horizon age; a decision is final."""
    experiment = get_experiment(ocma, workspace_id, experiment_id)
    if experiment.status == "decided":
        return experiment.result
    horizon = float(experiment.horizon_hours or DEFAULT_HORIZON_HOURS)
    variants = variants_of(ocma, experiment_id)
    post_ids = [v.post_id for v in variants if v.post_id]
    observed = load_posts(ocma, workspace_id, None, None, post_ids=post_ids, basis="latest", with_text=False)
    kind = choose_kind(observed)
    series = load_snapshot_series(ocma, [o.target_id for o in observed])
    arms = []
    for v in variants:
        units = []
        for o in observed:
            exposure = o.exposure(kind) if kind != "post" else None
            if o.post_id != v.post_id or not exposure:
                continue
            rows = [
                (age, k, (shown or 0.0) if kind == "impressions" else exposure)
                for age, k, shown in series.get(o.target_id, [])
                if kind != "impressions" or shown
            ]
            value = at_age(rows, horizon)
            units.append(
                Unit(
                    *(value or (o.interactions, exposure)),
                    matured=value is not None,
                    account_id=o.account_id,
                    trace={**o.trace(), "target_id": o.target_id, "at_age_hours": horizon},
                )
            )
        arms.append(Arm(v.id, v.label, units))
    accounts = {o.account_id for o in observed}
    history = _past(ocma, workspace_id, accounts, post_ids, kind, horizon, history_days)
    result = decide(
        arms, alpha=experiment.alpha, min_lift=experiment.min_lift, history=history, horizon_hours=horizon
    )
    result["exposure_kind"] = kind
    result["units"] = {a.label: [u.trace for u in a.units] for a in arms}
    result["evaluated_at"] = utcnow().isoformat()
    from ocma_core.events import Event, dispatch, record

    decided = None
    with ocma.session() as session:
        row = session.get(Experiment, experiment_id)
        assert row is not None
        row.result = result
        if result["status"] in FINAL and row.status != "decided":  # decided once at the horizon, then kept
            row.status, row.decided_at = "decided", utcnow()
            row.winner_variant_id = result.get("winner_variant_id")
            payload = {"experiment_id": row.id, "status": str(result["status"])}
            if row.winner_variant_id:
                payload["winner"] = row.winner_variant_id
            decided = record(session, Event("experiment.decided", row.workspace_id, payload))
        session.add(row)
    if decided is not None:
        dispatch(decided, ocma)
    return result


def _past(
    ocma: Ocma,
    workspace_id: str,
    accounts: set[str],
    post_ids: list[str],
    kind: str,
    horizon: float,
    history_days: int,
) -> History:
    """The accounts' other posts of the last `history_days`, at the experiment's horizon age like its units."""
    since = utcnow() - timedelta(days=history_days)
    past = load_posts(ocma, workspace_id, since, None, account_ids=accounts, basis="matured", with_text=False)
    past = [p for p in past if p.post_id not in post_ids]
    series = load_at_reference(ocma, [p.target_id for p in past], horizon)
    at_horizon = at_reference_age(past, series, horizon).posts
    return History(
        [(p.account_id, p.interactions, p.exposure(kind) or 0.0) for p in at_horizon if p.exposure(kind)]
    )


def summary(ocma: Ocma, experiment: Experiment) -> dict[str, Any]:
    """JSON view of an experiment and its last evaluation."""
    return {
        "id": experiment.id,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "status": experiment.status,
        "winner_variant_id": experiment.winner_variant_id,
        "alpha": experiment.alpha,
        "min_lift": experiment.min_lift,
        "horizon_hours": experiment.horizon_hours,
        "created_at": experiment.created_at.isoformat(),
        "decided_at": experiment.decided_at.isoformat() if experiment.decided_at else None,
        "variants": [
            {"id": v.id, "label": v.label, "post_id": v.post_id, "source": v.source, "body": v.body}
            for v in variants_of(ocma, experiment.id)
        ],
        "result": experiment.result,
    }
