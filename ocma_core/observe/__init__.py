"""Observability: request ids that follow work into the worker, Prometheus metrics, optional OpenTelemetry."""
