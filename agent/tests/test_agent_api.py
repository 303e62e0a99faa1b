"""The HTTP surface, added by the plugin's register_routes hook: JSON and SSE turns, history, approvals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agent_model import ScriptedModel, call, last_result
from agent_support import next_weekday
from fastapi.testclient import TestClient

from ocma_core.api.app import create_app
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, Role
from ocma_core.plugins import PluginHost
from ocma_core.services import posts
from ocma_core.services.workspaces import create_api_key


@pytest.fixture
def client(ocma: Ocma, plugin_host: PluginHost) -> Iterator[TestClient]:
    """The OCMA API with the agent plugin loaded (as its entry point would load it)."""
    import ocma_agent.plugin

    plugin_host.register(ocma_agent.plugin, name="agent")
    with TestClient(create_app(ocma, run_worker=False)) as test_client:
        yield test_client


def _key(ocma: Ocma, workspace_id: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=role).key}"}


def _script(model: ScriptedModel, account_id: str) -> None:
    model.script(
        call("draft_post", text="Webinar on Tuesday, join us!", account_ids=[account_id]),
        lambda body: call(
            "schedule_post",
            post_id=last_result(body)["post_id"],
            when=next_weekday(1, 10).strftime("%Y-%m-%dT%H:%M"),
        ),
        "Drafted and waiting for approval.",
    )


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_json_turn_history_and_approval(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    _script(model, account_id)
    editor = _key(ocma, workspace_id, Role.EDITOR)
    response = client.post(
        "/v1/agent/threads/t-1/messages", json={"text": "announce the webinar"}, headers=editor
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "Drafted and waiting for approval." and body["stopped"] == "done"
    assert [c["name"] for c in body["tool_calls"]] == ["draft_post", "schedule_post"]
    approval = body["approvals"][0]
    assert approval["status"] == "pending" and "held" in approval["reason"]
    assert model.chat_bodies()[0].get("stream") is not True  # plain JSON: no streaming needed

    stored = client.get("/v1/agent/threads/t-1/messages", headers=editor).json()["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert stored[0]["caller"].startswith("api key ")

    assert (
        client.post(
            f"/v1/agent/threads/t-1/approvals/{approval['post_id']}", json={"approve": True}, headers=editor
        ).status_code
        == 403
    )
    admin = _key(ocma, workspace_id, Role.ADMIN)
    approved = client.post(
        f"/v1/agent/threads/t-1/approvals/{approval['post_id']}", json={"approve": True}, headers=admin
    )
    assert approved.status_code == 200 and approved.json()["status"] == "scheduled"
    note = client.get("/v1/agent/threads/t-1/messages", headers=editor).json()["messages"][-1]
    assert note["role"] == "note" and "approved" in note["text"]


def test_sse_streams_the_turn(
    client: TestClient, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    _script(model, account_id)
    headers = {**_key(ocma, workspace_id, Role.EDITOR), "Accept": "text/event-stream"}
    response = client.post("/v1/agent/threads/t-2/messages", json={"text": "announce it"}, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[:4] == ["tool_call", "tool_result", "tool_call", "tool_result"]
    assert "approval" in kinds and kinds[-1] == "done"
    text = "".join(data["delta"] for kind, data in events if kind == "text")
    assert text == "Drafted and waiting for approval." and kinds.count("text") > 1
    assert all(b["stream"] for b in model.chat_bodies())
    assert posts.list_posts(ocma, workspace_id)[0].status is PostStatus.PENDING_APPROVAL


def test_without_a_model_the_api_says_what_to_set(
    client: TestClient, ocma: Ocma, workspace_id: str, no_model: None
) -> None:
    headers = _key(ocma, workspace_id, Role.EDITOR)
    response = client.post("/v1/agent/threads/t-3/messages", json={"text": "hello"}, headers=headers)
    assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
    assert "No AI model" in response.json()["detail"] and "OCMA_MODEL" in response.json()["fix"]
    stream = client.post(
        "/v1/agent/threads/t-3/messages", json={"text": "hello", "stream": True}, headers=headers
    )
    events = _events(stream.text)
    assert events[0][0] == "error" and "OCMA_MODEL" in events[0][1]["fix"]


def test_the_routes_need_an_api_key(client: TestClient) -> None:
    response = client.post("/v1/agent/threads/t/messages", json={"text": "hi"})
    assert response.status_code == 401 and "Bearer" in response.json()["detail"]
    assert client.post("/v1/agent/threads/bad%20id/messages", json={"text": "hi"}).status_code in (401, 422)
