"""The per-key cap on open event streams (OCMA_STREAM_MAX_PER_KEY) holds for SSE as for the WebSocket, over one
count: a key at the cap gets a 429 problem naming the setting for one more SSE stream, and a 4029 close for one
more socket; a stream that ends gives its place back; another key has its own allowance."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import live_server
from starlette.websockets import WebSocketDisconnect

from ocma_core.api.app import create_app
from ocma_core.api.routes_stream import TOO_MANY, open_streams
from ocma_core.context import Ocma
from ocma_core.crypto import api_key_id
from ocma_core.db.models import Role
from ocma_core.services.workspaces import create_api_key


def _key(ocma: Ocma, workspace_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.VIEWER).key}"}


def _opened(client: httpx.Client, held: contextlib.ExitStack, headers: dict[str, str]) -> Iterator[str]:
    """An SSE stream the server has started (its first line read), kept open until `held` closes; keep the
    lines returned (dropping them closes the stream)."""
    response = held.enter_context(client.stream("GET", "/v1/events", headers=headers))
    assert response.status_code == 200
    lines = response.iter_lines()
    assert next(lines).startswith("retry:")
    return lines


def _wait_for(ocma: Ocma, key_id: str, count: int) -> None:
    for _ in range(500):  # the server notices a closed stream within a tick (a bound for a hung test)
        if open_streams(ocma, key_id) == count:
            return
        time.sleep(0.02)
    assert open_streams(ocma, key_id) == count


def test_sse_streams_count_against_the_per_key_cap(ocma: Ocma, workspace_id: str) -> None:
    ocma.settings = ocma.settings.model_copy(update={"stream_max_per_key": 2})
    headers, other = _key(ocma, workspace_id), _key(ocma, workspace_id)
    key_id = str(api_key_id(headers["Authorization"].split()[1]))
    app = create_app(ocma, run_worker=False)
    with (
        live_server(app) as url,
        httpx.Client(base_url=url, timeout=30) as client,
        contextlib.ExitStack() as held,
    ):
        alive = [_opened(client, held, headers)]
        second = held.enter_context(contextlib.ExitStack())
        alive.append(_opened(client, second, headers))
        assert open_streams(ocma, key_id) == 2
        refused = client.get("/v1/events", headers=headers)
        assert refused.status_code == 429
        problem = refused.json()
        assert "OCMA_STREAM_MAX_PER_KEY" in problem["detail"] and "Close a stream" in problem["fix"]
        with TestClient(app) as socket_client:  # sockets share the count with SSE
            with (
                socket_client.websocket_connect("/v1/stream", headers=headers) as third,
                pytest.raises(WebSocketDisconnect) as closed,
            ):
                third.receive_json()
            assert closed.value.code == TOO_MANY
        alive.append(_opened(client, held, other))  # another key of the workspace has its own allowance
        second.close()
        _wait_for(ocma, key_id, 1)
        alive.append(_opened(client, held, headers))  # room again
        assert open_streams(ocma, key_id) == 2
    _wait_for(ocma, key_id, 0)
