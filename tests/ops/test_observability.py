"""Metrics named by the alert rules and the dashboard exist in /metrics; request ids follow the work into the
worker; OpenTelemetry spans run API -> queue -> worker -> platform call with the target id."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select
from tests_support import run_worker

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role, Target, TargetStatus
from ocma_core.logs import JsonFormatter
from ocma_core.observe import tracing
from ocma_core.observe.requestid import ContextFilter
from ocma_core.services import posts
from ocma_core.services.workspaces import create_api_key

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "ocma-dashboard.json"
NOT_OURS = {"up"}  # Prometheus's own per-target series (OcmaApiDown)
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}


def metric_names(expr: str) -> set[str]:
    """Every metric a PromQL expression selects (parsed with the Prometheus parser's Rust port)."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.add(node.name)
        for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                visit(child)
        for arg in getattr(node, "args", None) or []:
            visit(arg)

    visit(promql_parser.parse(expr))
    return found


def rule_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for item in items:
            yield item
            yield from panels(item.get("panels", []))

    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in panels(dashboard["panels"]) for t in p.get("targets", [])]


def exposed(text: str) -> set[str]:
    """Every series name the exposition declares (a counter's _total, a histogram's _bucket, ...)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def published_count(text: str) -> float:
    """ocma_targets_published_total{platform="fakesocial"} in an exposition (0 before the first)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ocma_targets_published_total" and sample.labels == {"platform": "fakesocial"}:
                return float(sample.value)
    return 0.0


@pytest.fixture
def editor(ocma: Ocma, workspace_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}


def publish_through_api(
    ocma: Ocma, client: TestClient, auth: dict[str, str], account_id: str, rid: str
) -> dict[str, Any]:
    """POST a post due now with X-Request-ID, then run a worker until it is published."""
    response = client.post(
        "/v1/posts",
        headers={**auth, "X-Request-ID": rid},
        json={"body": f"Hello from {rid}", "account_ids": [account_id], "action": "publish_now"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == rid
    post = response.json()
    run_worker(ocma, lambda: posts.targets_of(ocma, post["id"])[0].status is TargetStatus.PUBLISHED)
    return dict(post)


def test_the_rules_parse_and_name_metrics() -> None:
    exprs = rule_exprs()
    assert len(exprs) >= 10 and all(metric_names(e) for e in exprs)
    promtool = shutil.which("promtool")
    if promtool:  # Debian's `prometheus` package; the parse above runs everywhere
        done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_metric_in_the_rules_and_dashboard_exists(
    ocma: Ocma, editor: dict[str, str], account_id: str, fake: Any
) -> None:
    with TestClient(create_app(ocma, run_worker=False)) as client:
        before = published_count(client.get("/metrics").text)
        publish_through_api(ocma, client, editor, account_id, "metrics-check-1")
        text = client.get("/metrics").text
    names = exposed(text)
    wanted = set().union(*(metric_names(e) for e in rule_exprs() + dashboard_exprs())) - NOT_OURS
    assert wanted - names == set()
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    assert published_count(text) == before + 1  # counters belong to the process: other tests count too
    assert any(n == "ocma_publish_lateness_seconds_count" for n in samples)
    accounts = [
        s for f in text_string_to_metric_families(text) if f.name == "ocma_accounts" for s in f.samples
    ]
    assert [(s.labels, s.value) for s in accounts] == [
        ({"platform": "fakesocial", "status": "connected"}, 1.0)
    ]


def test_request_id_follows_the_post_into_the_worker(
    ocma: Ocma, editor: dict[str, str], account_id: str, fake: Any
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    worker_log = logging.getLogger("ocma_core.engine")
    root = logging.getLogger()
    root.addHandler(handler)
    level = worker_log.level
    worker_log.setLevel(logging.DEBUG)
    try:
        with TestClient(create_app(ocma, run_worker=False)) as client:
            post = publish_through_api(ocma, client, editor, account_id, "req-7f3a")
    finally:
        root.removeHandler(handler)
        worker_log.setLevel(level)
    target_id = post["targets"][0]["id"]
    with ocma.session() as session:
        origin = session.exec(select(Target.origin).where(Target.id == target_id)).one()
    assert origin == {"request_id": "req-7f3a"}
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    from_worker = [
        r for r in lines if r["logger"].startswith("ocma_core.engine") and target_id in r["message"]
    ]
    assert from_worker and all(r["request_id"] == "req-7f3a" for r in from_worker)
    assert all(r["target_id"] == target_id for r in from_worker)


@pytest.fixture
def spans() -> Iterator[Any]:
    """Record spans in memory for the test (tracing is off otherwise)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.disable()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_trace_runs_from_the_api_through_the_queue_to_the_platform_call(
    ocma: Ocma, editor: dict[str, str], account_id: str, fake: Any, spans: Any
) -> None:
    with TestClient(create_app(ocma, run_worker=False)) as client:
        post = publish_through_api(ocma, client, editor, account_id, "traced-1")
    target_id = post["targets"][0]["id"]
    finished = {s.name: s for s in spans.get_finished_spans()}
    api, queue, work, call = (
        finished["POST /v1/posts"],
        finished["ocma.queue"],
        finished["ocma.publish"],
        finished["fakesocial publish"],
    )
    assert len({s.context.trace_id for s in (api, queue, work, call)}) == 1
    assert queue.parent.span_id == api.context.span_id
    assert work.parent.span_id == queue.context.span_id
    assert call.parent.span_id == work.context.span_id
    for span in (queue, work, call):
        assert span.attributes["ocma.target_id"] == target_id
    assert call.attributes["ocma.outcome"] == "ok" and api.attributes["http.route"] == "/v1/posts"


def test_tracing_is_off_by_default(ocma: Ocma) -> None:
    assert ocma.settings.tracing == "off" and not tracing.enabled()
    with tracing.span("anything") as span:
        assert span is None
    assert tracing.current_traceparent() is None
