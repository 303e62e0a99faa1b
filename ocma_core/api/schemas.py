"""Response models of the HTTP API: what each route returns, so /openapi.json is a contract clients can generate
from. Every model allows extra fields (clients must ignore what they do not know), so adding a field is never
a breaking change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    """Base of the response models."""

    model_config = ConfigDict(extra="allow")


class TargetOut(Out):
    """One post on one account: its status and, once published, the platform's id and URL."""

    id: str
    account_id: str
    platform: str
    status: str = Field(description="draft, queued, publishing, published, failed, held, unconfirmed, ...")
    attempts: int
    external_id: str | None
    part_ids: list[str] = Field(description="Every part's platform id when a thread was published.")
    url: str | None
    error: str | None = Field(description="Why the last attempt failed, in words.")
    published_at: datetime | None


class PostOut(Out):
    """A post, its schedule and one target per account."""

    id: str
    status: str = Field(description="draft, pending_approval, scheduled, publishing, published, ...")
    body: str
    variants: dict[str, str]
    thread: list[str]
    media_ids: list[str]
    options: dict[str, dict[str, Any]]
    scheduled_at: datetime | None
    timezone: str
    recurrence: dict[str, Any] | None
    created_at: datetime
    targets: list[TargetOut]


class FailedTargetOut(Out):
    """A failed or held target and the reason."""

    post_id: str
    target_id: str
    platform: str
    account_id: str
    status: str
    error: str | None
    attempts: int
    body: str = Field(description="The post's first 200 characters.")


class PlatformProblem(Out):
    """A rule of the platform the text breaks."""

    code: str
    message: str
    field: str


class CheckOut(Out):
    """A text measured against one platform's rules."""

    platform: str
    length: int = Field(description="Length as the platform counts it.")
    limit: int
    unit: str
    ok: bool
    problems: list[PlatformProblem]


class TargetDeletionOut(Out):
    """What deleting did on one account."""

    target_id: str
    account_id: str
    handle: str
    platform: str
    status: str = Field(description="deleted, failed or skipped")
    reason: str
    url: str | None
    parts: int
    parts_deleted: int
    retry_at: datetime | None


class DeletePublishedOut(Out):
    """The post after deleting, and one result per target."""

    post: PostOut
    targets: list[TargetDeletionOut]


class ImportProblem(Out):
    """A problem with one CSV row (the header is row 1)."""

    row: int
    field: str
    message: str
    platform: str | None = None


class ImportOut(Out):
    """What an import found and did."""

    rows: int
    imported: int
    post_ids: list[str]
    invalid_rows: int
    problems: list[ImportProblem]


class ConnectUrlOut(Out):
    """Where to send the person to approve the connection."""

    authorize_url: str


class ConnectionTestOut(Out):
    """The platform answered who-am-I with the stored tokens."""

    ok: bool
    external_id: str
    handle: str


class VariantOut(Out):
    """One variant of an experiment and the post it became."""

    id: str
    label: str
    post_id: str | None
    source: str
    body: str


class ExperimentOut(Out):
    """An A/B experiment, its variants and its last evaluation."""

    id: str
    name: str
    hypothesis: str
    status: str
    winner_variant_id: str | None
    alpha: float
    min_lift: float
    created_at: datetime
    decided_at: datetime | None
    variants: list[VariantOut]
    result: dict[str, Any] | None = Field(description="The last evaluation (see POST .../evaluate).")


class EvaluationOut(Out):
    """An experiment's verdict from stored snapshots, with the decision rule and the evidence."""

    status: str = Field(
        description="collecting (before every variant post reaches the horizon age; nothing tested), winner, "
        "alike (an equivalence test supports it), inconclusive, or cannot_judge"
    )


class CompetitorOut(Out):
    """A competitor followed on one platform."""

    id: str
    workspace_id: str
    platform: str
    handle: str
    via_account_id: str
    external_id: str
    display_name: str
    created_at: datetime


class CompetitorSnapshotOut(Out):
    """A competitor's public metrics as the platform named them."""

    values: dict[str, float]
    unavailable: list[str]
    fetched_at: datetime
    note: str | None = None


class SnapshotOut(Out):
    """One stored metrics snapshot of a published target."""

    snapshot_id: str
    target_id: str
    account_id: str
    platform: str
    fetched_at: datetime
    source: str
    values: dict[str, Any]
    unavailable: list[str]


class CollectOut(Out):
    """What a metrics collection round did."""

    stored: int
    items: int
    deferred: int
    failed: int
    errors: list[Any]


class AnalyzerOut(Out):
    """A registered analyzer."""

    name: str
    title: str
    in_report: bool
    description: str


class PromptOut(Out):
    """A prompt template and where it comes from."""

    name: str
    source: str
    text: str


class HealthOut(Out):
    """The process is up."""

    status: str


class ReadyOut(Out):
    """Readiness: each check and whether it passed."""

    status: str = Field(description="ready or not ready")
    checks: dict[str, dict[str, Any]]


class PluginOut(Out):
    """An installed plugin, its hooks, what it registered, and any load error."""

    name: str


class ContentOut(Out):
    """Generated, adapted, optimised or scored content; `ai` says which model made it and at what cost."""

    ai: dict[str, Any] | None = None


class SlotOut(Out):
    """An hour of the week and its expected lift over the account's typical rate, with its interval."""

    weekday: int = Field(description="0 = Monday")
    hour: int
    label: str
    lift: float
    lift_interval: list[float]
    expected_rate: float | None
    rate_interval: list[float] | None
    probability_better: float
    posts_in_slot: int


class BestTimeOut(Out):
    """An account's best hours from its own history (pooled with a prior), and how that was worked out."""

    account: str
    account_id: str
    platform: str
    timezone: str
    rate_name: str
    n_posts: int
    basis: str = Field(
        description="measured (timing measurably changes engagement: the slots are a finding), "
        "no_measured_effect (every slot 1.00x) or too_few_posts."
    )
    top: list[SlotOut] = Field(
        description="Highest-ranked slots; their lift is 1.00 unless basis is measured."
    )
    grid: list[float | None] = Field(
        description="Reported lift of all 168 hours of the week, Monday 00:00 first (1.00 everywhere unless "
        "basis is measured; null for hours never posted in)."
    )
    grid_interval: list[list[float] | None] = Field(
        description="90% interval of each slot's lift, simultaneous over the slots; null where never posted."
    )
    message: str
    method: str


class NextBestTimeOut(Out):
    """The next start of the slot measured best over the accounts, or none when nothing is measured."""

    at: datetime | None = Field(description="null when no account shows a measurable timing effect")
    slot: str | None
    basis: str = Field(description="measured, no_measured_effect or too_few_posts")
    expected_lift: float | None = Field(
        description="geometric mean over the accounts of the slot's measured lift (null unless measured)"
    )
    reason: str
    timezone: str
    accounts: list[dict[str, str]]
    method: str


class AISettingsOut(Out):
    """The workspace's stored AI settings (key names only), brand voice, and what is in force."""

    brand_voice: str
    effective: dict[str, Any]


class AIUsageOut(Out):
    """AI spend and tokens today and this month, per model, against the budgets."""

    timezone: str
    today: dict[str, Any]
    this_month: dict[str, Any]
    by_model_this_month: dict[str, Any]
    budgets: dict[str, Any]
