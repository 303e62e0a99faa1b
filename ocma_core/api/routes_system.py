"""Health, readiness, Prometheus metrics and the plugin listing."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, text
from sqlmodel import select

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.metrics import REGISTRY
from ocma_core.api.schemas import HealthOut, PluginOut, ReadyOut
from ocma_core.context import Ocma
from ocma_core.db.models import WorkerHeartbeat
from ocma_core.db.types import utcnow
from ocma_core.permissions import Action

router = APIRouter()


@router.get("/", include_in_schema=False)
def root() -> dict[str, str]:
    """Where to go from the bare address: the API's docs, its description and health."""
    from ocma_core import __version__

    return {
        "service": "OCMA",
        "version": __version__,
        "docs": "/docs",
        "openapi": "/openapi.json",
        "health": "/readyz",
        "hint": "Every /v1 route needs `Authorization: Bearer <API key>` (`ocma init` or `ocma apikeys create`).",
    }


@router.get("/healthz", tags=["system"])
def healthz() -> HealthOut:
    """The process is up."""
    return HealthOut(status="ok")


def readiness(ocma: Ocma) -> dict[str, Any]:
    """Check the database, the queue, the stored secrets and that a worker polled recently."""
    checks: dict[str, Any] = {}
    try:
        with ocma.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": f"database unreachable: {type(exc).__name__}"}
        return checks
    try:
        checks["queue"] = {"ok": ocma.queue.ping(), "kind": ocma.queue.kind}
    except Exception as exc:
        checks["queue"] = {"ok": False, "error": f"queue unreachable: {type(exc).__name__}"}
    stale = utcnow() - timedelta(seconds=ocma.settings.worker_stale_s)
    with ocma.session() as session:
        newest = session.exec(select(func.max(WorkerHeartbeat.last_seen))).one()
    if newest is not None and newest.tzinfo is None:  # SQLite returns aggregates without the column type
        newest = newest.replace(tzinfo=UTC)
    checks["secrets"] = _secrets_check(ocma)
    checks["worker"] = {
        "ok": newest is not None and newest >= stale,
        "last_seen": newest.isoformat() if newest else None,
        "hint": None
        if newest and newest >= stale
        else "No worker polled recently: run `ocma worker` or `ocma serve`.",
    }
    return checks


def _secrets_check(ocma: Ocma) -> dict[str, Any]:
    """Whether the encryption keys in force decrypt every stored secret (checked at most once a minute)."""
    from ocma_core.errors import OcmaError
    from ocma_core.services.keys import recent_check

    hint = "Run `ocma doctor` on the server: it names the key that is missing and what to do."
    try:
        check = recent_check(ocma)
    except OcmaError:  # no key at all, or an unreadable key file (the details stay on the server)
        return {"ok": False, "error": "no usable encryption key is configured", "hint": hint}
    if check.ok:
        return {"ok": True}
    # Unauthenticated endpoint: counts only; where the secrets are and which key is missing stay on the server.
    error = (
        f"{len(check.unreadable)} of {check.total} stored secrets cannot be decrypted with the keys in force"
    )
    return {"ok": False, "error": error, "hint": hint}


@router.get(
    "/readyz",
    tags=["system"],
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready: a check failed.", "x-not-problem": True}},
)
def readyz(ocma: Ocma = Depends(get_ocma)) -> JSONResponse:
    """Ready when the database and queue answer, the encryption keys decrypt every stored secret and a worker
    polled recently."""
    checks = readiness(ocma)
    ok = all(c.get("ok") for c in checks.values()) and len(checks) == 4
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics", tags=["system"], include_in_schema=False)
def metrics(ocma: Ocma = Depends(get_ocma)) -> Response:
    """Prometheus metrics: this process's counters, then the installation's state read from the database."""
    from ocma_core.observe.state import state_metrics

    return Response(generate_latest(REGISTRY) + state_metrics(ocma), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/plugins", tags=["system"])
def plugins(caller: Caller = Depends(require(Action.PLUGINS_READ))) -> list[PluginOut]:
    """Installed plugins, their hooks, what they registered and any load errors."""
    from ocma_core.plugins import plugin_listing

    return [PluginOut.model_validate(row) for row in plugin_listing()]
