"""Prometheus metrics of the HTTP API and the engine."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "ocma_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
ERRORS = Counter(
    "ocma_http_unhandled_errors_total",
    "Requests that ended in an unhandled exception (answered 500 with a request id)",
    ["method", "route"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "ocma_http_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY
)
PUBLISHED = Counter("ocma_targets_published_total", "Targets published", ["platform"], registry=REGISTRY)
FAILED = Counter("ocma_targets_failed_total", "Targets failed", ["platform", "reason"], registry=REGISTRY)
ATTEMPTS = Counter(
    "ocma_publish_attempts_total", "Platform calls", ["platform", "outcome"], registry=REGISTRY
)
LATENESS = Histogram(
    "ocma_publish_lateness_seconds", "Seconds between due time and publish", ["platform"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=REGISTRY,
)  # fmt: skip
QUEUE_DEPTH = Gauge("ocma_queue_due_targets", "Targets due and not yet published", registry=REGISTRY)
