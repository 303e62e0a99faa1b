"""GET /v1/events: Server-Sent Events from the stored log, live on a real server, resumable with
Last-Event-ID (exactly what was missed), filtered by kind, scoped to the key's workspace and role."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from fastapi.testclient import TestClient
from live_server import live_server

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.db.types import utcnow
from ocma_core.events import Event, dispatch, record
from ocma_core.services.workspaces import create_api_key, create_workspace


def _store(ocma: Ocma, workspace_id: str, kind: str, post_id: str) -> Event:
    payload: dict[str, Any] = {"post_id": post_id, "targets": []}
    if kind == "post.scheduled":
        payload = {"post_id": post_id, "scheduled_at": utcnow().isoformat()}
    event = Event(kind, workspace_id, payload)
    with ocma.session() as session:
        record(session, event)
    dispatch(event, ocma)
    return event


def _messages(text: str) -> list[dict[str, Any]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":")
        if "data" in fields:
            out.append({**json.loads(fields["data"]), "sse_id": int(fields["id"]), "event": fields["event"]})
    return out


def _key(ocma: Ocma, workspace_id: str, role: Role = Role.VIEWER) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


def test_stored_events_resume_from_last_event_id_and_filter(ocma: Ocma, workspace_id: str) -> None:
    other = create_workspace(ocma, "Other", timezone="UTC", owner_email="x@example.com").id
    _store(ocma, other, "post.published", "theirs")
    for i, kind in enumerate(["post.scheduled", "post.published", "post.failed", "post.published"]):
        _store(ocma, workspace_id, kind, f"p{i}")
    headers = _key(ocma, workspace_id)
    with TestClient(create_app(ocma, run_worker=False)) as client:
        everything = _messages(client.get("/v1/events?since=0&follow=false", headers=headers).text)
        assert [m["sse_id"] for m in everything] == [1, 2, 3, 4]
        assert all(m["workspace_id"] == workspace_id for m in everything)
        resumed = client.get("/v1/events?follow=false", headers={**headers, "Last-Event-ID": "2"})
        assert [m["data"]["post_id"] for m in _messages(resumed.text)] == ["p2", "p3"]
        assert resumed.headers["content-type"].startswith("text/event-stream")
        only = client.get("/v1/events?since=0&follow=false&kinds=post.published", headers=headers).text
        assert [m["sse_id"] for m in _messages(only)] == [2, 4]
        assert client.get("/v1/events?follow=false").status_code == 401


def test_a_live_client_gets_new_events_in_order(ocma: Ocma, workspace_id: str) -> None:
    headers = _key(ocma, workspace_id)
    got: list[dict[str, Any]] = []
    with (
        live_server(create_app(ocma, run_worker=False)) as url,
        httpx.stream("GET", f"{url}/v1/events", headers=headers, timeout=30) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        threading.Timer(
            0.3,
            lambda: [_store(ocma, workspace_id, k, "live") for k in ("post.published", "post.failed")],
        ).start()
        block: list[str] = []
        for line in lines:
            if line:
                block.append(line)
                continue
            got.extend(_messages("\n".join(block)))
            block = []
            if len(got) == 2:
                break
    assert [m["event"] for m in got] == ["post.published", "post.failed"]
    assert got[0]["sse_id"] < got[1]["sse_id"] == got[1]["seq"]
