"""Process metrics beyond the API's and the engine's first ones (ocma_core.api.metrics), same registry.

Counters live in the process that does the work: an API process serves its own on /metrics, a worker
process on `ocma worker --metrics-port`. Whole-installation state (queue, workers, accounts, AI spend)
is read from the database at scrape time (observe.state).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from ocma_core import __version__
from ocma_core.api.metrics import REGISTRY

TOKEN_REFRESHES = Counter(
    "ocma_token_refreshes_total",
    "Token refreshes by outcome (ok, auth_expired: the account needs reconnecting, error: try again later)",
    ["platform", "outcome"],
    registry=REGISTRY,
)
RATE_WAITS = Counter(
    "ocma_rate_budget_waits_total",
    "Times a platform call was told to wait for its rate budget (each re-check counts)",
    ["platform"],
    registry=REGISTRY,
)
RATE_WAIT_SECONDS = Counter(
    "ocma_rate_budget_wait_seconds_total",
    "Seconds platform calls were told to wait for their rate budgets",
    ["platform"],
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "ocma_webhook_deliveries_total",
    "Inbound webhook deliveries by receiver (a platform's or a plugin's) and outcome"
    " (stored, duplicate, bad_signature, refused, error)",
    ["platform", "outcome"],
    registry=REGISTRY,
)
HEARTBEATS = Counter(
    "ocma_worker_heartbeats_total", "Heartbeats this process's workers recorded", ["kind"], registry=REGISTRY
)
HEARTBEAT_FAILURES = Counter(
    "ocma_worker_heartbeat_failures_total",
    "Heartbeats that could not be recorded (the database did not answer)",
    ["kind"],
    registry=REGISTRY,
)
LAST_HEARTBEAT = Gauge(
    "ocma_worker_last_heartbeat_timestamp_seconds",
    "Unix time of this process's last recorded worker heartbeat",
    ["kind"],
    registry=REGISTRY,
)
BUILD = Gauge("ocma_build_info", "The running OCMA version (always 1)", ["version"], registry=REGISTRY)
BUILD.labels(__version__).set(1)


def platform_of_bucket(key: str) -> str:
    """The platform of a rate bucket key (platform:owner:bucket)."""
    return key.split(":", 1)[0]
