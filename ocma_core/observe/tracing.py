"""Optional OpenTelemetry traces (`pip install "ocma[otel]"`, OCMA_TRACING=otlp), off by default.

A trace runs API request -> queue (the wait until a worker claims the target) -> worker publish -> each
platform call, with the target id as the `ocma.target_id` attribute. The trace context travels with the
target in the database (`Target.origin`), so it survives Redis and process boundaries. With tracing off
nothing here imports OpenTelemetry and every helper is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ocma_core.errors import ConfigError

_state: dict[str, Any] = {"tracer": None}
SERVICE_NAME = "ocma"


def enabled() -> bool:
    """True when spans are being recorded."""
    return _state["tracer"] is not None


def configure(mode: str, service: str = SERVICE_NAME) -> None:
    """Turn tracing on for this process: 'otlp' (OTLP/HTTP, OTEL_EXPORTER_OTLP_* settings), 'console', or 'off'."""
    if mode == "off" or enabled():
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        raise ConfigError(
            f"OCMA_TRACING={mode} needs OpenTelemetry, which is not installed.",
            fix='Install it with `pip install "ocma[otel]"`, or set OCMA_TRACING=off.',
        ) from None
    exporter: SpanExporter
    if mode == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_provider(provider)


def use_provider(provider: Any) -> None:
    """Record spans with `provider` (a TracerProvider; tests pass one with an in-memory exporter)."""
    _state["tracer"] = provider.get_tracer("ocma")


def disable() -> None:
    """Stop recording spans in this process."""
    _state["tracer"] = None


@contextmanager
def span(
    name: str,
    attributes: dict[str, Any] | None = None,
    *,
    parent: str | None = None,
    start_time_ns: int | None = None,
    kind: str = "internal",
) -> Iterator[Any]:
    """A span around the block (None when tracing is off); `parent` is a W3C traceparent to continue."""
    tracer = _state["tracer"]
    if tracer is None:
        yield None
        return
    from opentelemetry import trace

    kinds = {
        "server": trace.SpanKind.SERVER,
        "client": trace.SpanKind.CLIENT,
        "consumer": trace.SpanKind.CONSUMER,
    }
    context = _context_from(parent) if parent else None
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kinds.get(kind, trace.SpanKind.INTERNAL),
        attributes=attrs,
        start_time=start_time_ns,
    ) as current:
        yield current


def record_span(
    name: str, attributes: dict[str, Any], *, parent: str | None, start_ns: int, end_ns: int
) -> str | None:
    """A finished span from `start_ns` to `end_ns` (e.g. the time a target waited in the queue); returns its
    traceparent, so the next span can hang under it."""
    tracer = _state["tracer"]
    if tracer is None:
        return None
    from opentelemetry import trace

    recorded = tracer.start_span(
        name, context=_context_from(parent) if parent else None, attributes=attributes, start_time=start_ns
    )
    recorded.end(end_time=end_ns)
    return _traceparent_of(trace.set_span_in_context(recorded))


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (None when tracing is off or no span is active)."""
    if _state["tracer"] is None:
        return None
    return _traceparent_of(None)


def _traceparent_of(context: Any) -> str | None:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=context)
    return carrier.get("traceparent")


def _context_from(traceparent: str) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})


def set_attribute(current: Any, key: str, value: Any) -> None:
    """Set an attribute on a span from span() (no-op when tracing is off)."""
    if current is not None and value is not None:
        current.set_attribute(key, value)
