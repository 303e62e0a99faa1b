"""Prometheus metrics of the HTTP API and the engine."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "ocma_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
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
    "ocma_publish_lateness_seconds", "Seconds between due time and publish",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=REGISTRY,
)  # fmt: skip
QUEUE_DEPTH = Gauge("ocma_queue_due_targets", "Targets due and not yet published", registry=REGISTRY)


async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Middleware: count and time each request by its route template."""
    start = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    LATENCY.labels(request.method, template).observe(time.perf_counter() - start)
    REQUESTS.labels(request.method, template, str(response.status_code)).inc()
    return response
