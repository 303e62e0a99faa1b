"""WebSocket /v1/stream: the SSE feed's semantics over a WebSocket (stored events after a sequence id, resume
with Last-Event-ID, kind filter, workspace scope), API key or single-use ticket, refusals as 401, and live
delivery over a real uvicorn to a real `websockets` client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from live_server import live_server
from starlette.testclient import WebSocketDenialResponse
from test_event_stream import _key, _store

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.services.workspaces import create_workspace, revoke_api_key


def _events(ws: Any, count: int) -> list[dict[str, Any]]:
    got = []
    while len(got) < count:
        message = ws.receive_json()
        if message["type"] == "event":
            got.append(message)
    return got


def test_stored_events_resume_filter_and_stay_in_the_workspace(ocma: Ocma, workspace_id: str) -> None:
    other = create_workspace(ocma, "Other", timezone="UTC", owner_email="x@example.com").id
    _store(ocma, other, "post.published", "theirs")
    for i, kind in enumerate(["post.scheduled", "post.published", "post.failed", "post.published"]):
        _store(ocma, workspace_id, kind, f"p{i}")
    headers = _key(ocma, workspace_id)
    with TestClient(create_app(ocma, run_worker=False)) as client:
        with client.websocket_connect("/v1/stream?since=0&follow=false", headers=headers) as ws:
            everything = _events(ws, 4)
        assert [m["seq"] for m in everything] == [1, 2, 3, 4]
        assert {m["workspace_id"] for m in everything} == {workspace_id}
        assert everything[1]["id"] == f"evt_{workspace_id}_2" and everything[1]["kind"] == "post.published"
        with client.websocket_connect(
            "/v1/stream?follow=false", headers={**headers, "Last-Event-ID": "2"}
        ) as ws:
            assert [m["data"]["post_id"] for m in _events(ws, 2)] == ["p2", "p3"]
        with client.websocket_connect(
            "/v1/stream?since=0&follow=false&kinds=post.published", headers=headers
        ) as ws:
            assert [m["seq"] for m in _events(ws, 2)] == [2, 4]


def test_live_events_arrive_in_order_after_connecting(ocma: Ocma, workspace_id: str) -> None:
    _store(ocma, workspace_id, "post.failed", "before")  # before connecting: not sent without since
    with (
        TestClient(create_app(ocma, run_worker=False)) as client,
        client.websocket_connect("/v1/stream", headers=_key(ocma, workspace_id)) as ws,
    ):
        threading.Timer(
            0.3, lambda: [_store(ocma, workspace_id, k, "live") for k in ("post.published", "post.failed")]
        ).start()
        got = _events(ws, 2)
    assert [m["kind"] for m in got] == ["post.published", "post.failed"]
    assert [m["seq"] for m in got] == [2, 3]


def test_a_missing_or_bad_key_is_refused_with_401(ocma: Ocma, workspace_id: str) -> None:
    with TestClient(create_app(ocma, run_worker=False)) as client:
        for headers in ({}, {"Authorization": "Bearer ocma_nope"}):
            with (
                pytest.raises(WebSocketDenialResponse) as refused,
                client.websocket_connect("/v1/stream", headers=headers),
            ):
                pass
            assert refused.value.status_code == 401
            assert refused.value.json()["status"] == 401


def test_a_ticket_opens_the_stream_once_and_dies_with_its_key(ocma: Ocma, workspace_id: str) -> None:
    _store(ocma, workspace_id, "post.published", "p0")
    headers = _key(ocma, workspace_id)
    with TestClient(create_app(ocma, run_worker=False)) as client:
        made = client.post("/v1/stream/tickets", headers=headers)
        assert made.status_code == 201, made.text
        url = f"/v1/stream?since=0&follow=false&ticket={made.json()['ticket']}"
        with client.websocket_connect(url) as ws:
            assert _events(ws, 1)[0]["data"]["post_id"] == "p0"
        with pytest.raises(WebSocketDenialResponse) as again, client.websocket_connect(url):
            pass
        assert again.value.status_code == 401  # single use
        used = made.json()["ticket"]
        for spelling in (used + ".", used + "..", used[:20] + "~" + used[20:]):  # decrypt alike, same ticket
            with (
                pytest.raises(WebSocketDenialResponse),
                client.websocket_connect(f"/v1/stream?ticket={spelling}"),
            ):
                pass
        ticket = client.post("/v1/stream/tickets", headers=headers).json()["ticket"]
        key_id = headers["Authorization"].split()[1]
        from ocma_core.crypto import api_key_id

        revoke_api_key(ocma, workspace_id, str(api_key_id(key_id)))
        with pytest.raises(WebSocketDenialResponse), client.websocket_connect(f"/v1/stream?ticket={ticket}"):
            pass
        with pytest.raises(WebSocketDenialResponse), client.websocket_connect("/v1/stream?ticket=wst_forged"):
            pass


def test_a_real_client_over_uvicorn_gets_live_events(ocma: Ocma, workspace_id: str) -> None:
    from websockets.asyncio.client import connect

    headers = _key(ocma, workspace_id)

    async def run(url: str) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with connect(url.replace("http", "ws", 1) + "/v1/stream", additional_headers=headers) as ws:
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, lambda: threading.Thread(target=_store_two).start())
            while len(got) < 2:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == "event":
                    got.append(message)
        return got

    def _store_two() -> None:
        for kind in ("post.published", "post.failed"):
            _store(ocma, workspace_id, kind, "live")

    with live_server(create_app(ocma, run_worker=False)) as url:
        got = asyncio.run(run(url))
    assert [m["kind"] for m in got] == ["post.published", "post.failed"]
    assert got[0]["seq"] < got[1]["seq"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_event_stored_by_another_process_reaches_a_websocket_client(
    settings: Any, workspace_id: str
) -> None:
    import subprocess
    import sys

    from test_event_fanout import PRODUCER
    from tests_support import REDIS_URL, need_service

    need_service("redis", REDIS_URL)
    ocma = Ocma(settings.model_copy(update={"redis_url": REDIS_URL}))
    args = [
        str(settings.data_dir),
        settings.resolved_database_url,
        REDIS_URL,
        ocma.encryption_keys[0],
        workspace_id,
    ]
    with (
        TestClient(create_app(ocma, run_worker=False)) as client,
        client.websocket_connect("/v1/stream", headers=_key(ocma, workspace_id)) as ws,
    ):
        done = subprocess.run(
            [sys.executable, "-c", PRODUCER, *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        [got] = _events(ws, 1)
    assert (got["kind"], got["data"]["post_id"], got["seq"]) == ("post.published", "from-another-process", 1)


def test_a_plain_get_of_the_stream_url_is_the_sse_stream(ocma: Ocma, workspace_id: str) -> None:
    _store(ocma, workspace_id, "post.published", "p0")
    with TestClient(create_app(ocma, run_worker=False)) as client:
        response = client.get("/v1/stream?since=0&follow=false", headers=_key(ocma, workspace_id))
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event: post.published" in response.text and "id: 1" in response.text


def test_an_open_stream_ends_when_its_key_is_revoked(
    ocma: Ocma, workspace_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocma_core.api import event_feed
    from ocma_core.crypto import api_key_id

    monkeypatch.setattr(event_feed, "KEY_RECHECK_S", 0.0)  # check on every pass, not every 10 s
    headers = _key(ocma, workspace_id)
    with (
        TestClient(create_app(ocma, run_worker=False)) as client,
        client.websocket_connect("/v1/stream", headers=headers) as ws,
    ):
        _store(ocma, workspace_id, "post.published", "while the key is good")
        assert _events(ws, 1)[0]["data"]["post_id"] == "while the key is good"
        revoke_api_key(ocma, workspace_id, str(api_key_id(headers["Authorization"].split()[1])))
        _store(ocma, workspace_id, "post.published", "after revocation")
        with pytest.raises(Exception) as closed:  # the server closes: no event after the revocation
            while True:
                message = ws.receive_json()
                assert message["type"] != "event", message
    assert getattr(closed.value, "code", None) == 1008


def test_one_key_holds_at_most_the_configured_streams(ocma: Ocma, workspace_id: str) -> None:
    import time

    from starlette.websockets import WebSocketDisconnect

    from ocma_core.api.routes_stream import TOO_MANY, open_streams
    from ocma_core.crypto import api_key_id

    ocma.settings = ocma.settings.model_copy(update={"stream_max_per_key": 2})
    headers = _key(ocma, workspace_id)
    key_id = str(api_key_id(headers["Authorization"].split()[1]))
    other = _key(ocma, workspace_id)  # another key of the same workspace has its own allowance
    with TestClient(create_app(ocma, run_worker=False)) as client, contextlib.ExitStack() as held:
        held.enter_context(client.websocket_connect("/v1/stream", headers=headers))
        second = held.enter_context(contextlib.ExitStack())
        second.enter_context(client.websocket_connect("/v1/stream", headers=headers))
        with (
            client.websocket_connect("/v1/stream", headers=headers) as third,
            pytest.raises(WebSocketDisconnect) as refused,
        ):
            third.receive_json()
        assert refused.value.code == TOO_MANY
        assert "OCMA_STREAM_MAX_PER_KEY" in refused.value.reason
        with client.websocket_connect("/v1/stream", headers=other) as ws:
            _store(ocma, workspace_id, "post.published", "to the other key")
            assert _events(ws, 1)[0]["data"]["post_id"] == "to the other key"
        second.close()
        for _ in range(500):  # the server notices the closed socket within a tick
            if open_streams(ocma, key_id) < 2:
                break
            time.sleep(0.02)
        assert open_streams(ocma, key_id) == 1
        with client.websocket_connect("/v1/stream", headers=headers) as again:
            _store(ocma, workspace_id, "post.published", "room again")
            assert _events(again, 1)[0]["data"]["post_id"] == "room again"


def test_a_message_over_the_incoming_limit_closes_the_stream(ocma: Ocma, workspace_id: str) -> None:
    from starlette.websockets import WebSocketDisconnect

    from ocma_core.api.routes_stream import MAX_INCOMING, TOO_BIG

    with (
        TestClient(create_app(ocma, run_worker=False)) as client,
        client.websocket_connect("/v1/stream", headers=_key(ocma, workspace_id)) as ws,
    ):
        ws.send_text("x" * MAX_INCOMING)  # at the limit: read and ignored
        _store(ocma, workspace_id, "post.published", "still open")
        assert _events(ws, 1)[0]["data"]["post_id"] == "still open"
        ws.send_bytes(b"x" * (MAX_INCOMING + 1))
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
    assert closed.value.code == TOO_BIG and str(MAX_INCOMING) in closed.value.reason


def test_a_send_stuck_past_the_send_timeout_is_cancelled_as_too_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocma_core.api import routes_stream

    monkeypatch.setattr(routes_stream, "SEND_TIMEOUT_S", 0.05)

    async def stuck_send(state: dict[str, Any]) -> None:
        sending = routes_stream._Sending()
        state["sending"] = sending
        with sending.watched():
            sending.since = asyncio.get_running_loop().time()
            await asyncio.Event().wait()  # a send the client never takes

    async def quick_send(state: dict[str, Any]) -> None:
        sending = routes_stream._Sending()
        state["quick"] = sending
        with sending.watched():
            for _ in range(30):  # sends that finish (here at once, as into a free buffer) are never cancelled
                sending.since = asyncio.get_running_loop().time()
                sending.since = 0.0
                await asyncio.sleep(0.05)

    async def run() -> dict[str, Any]:
        state: dict[str, Any] = {}
        stuck = asyncio.create_task(stuck_send(state))
        quick = asyncio.create_task(quick_send(state))
        with pytest.raises(asyncio.CancelledError):
            await stuck
        await quick
        return state

    state = asyncio.run(run())
    assert state["sending"].too_slow and not state["quick"].too_slow
