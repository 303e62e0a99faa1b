"""A worker process's own /metrics endpoint (`ocma worker --metrics-port`), served on a thread."""

from __future__ import annotations

from prometheus_client import start_http_server

from ocma_core.api.metrics import REGISTRY


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serve this process's metrics on http://host:port/metrics (a daemon thread; it ends with the process)."""
    import ocma_core.observe.instruments  # noqa: F401  (every metric registered before the first scrape)

    start_http_server(port, addr=host, registry=REGISTRY)
