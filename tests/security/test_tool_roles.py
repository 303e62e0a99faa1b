"""Finding "MCP over HTTP ignores roles": a viewer key drafted, edited and cancelled posts. Every agent tool
declares the action it performs and the toolset checks the caller's role with the same function as the REST
routes and Slack (`ocma_core.permissions.check`). The role test is generated from the tool list, so a new tool
is covered the day it lands."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from ocma_agent.context import Caller, ToolContext
from ocma_agent.toolkit import DEFAULT_ACTIONS
from ocma_agent.tools import default_toolset

from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, Role
from ocma_core.permissions import SURFACES, allowed, least_role
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import create_api_key

TOOLS = sorted(default_toolset().tools)
AGENT_SURFACES = [s for s in SURFACES if s != "agent"]


def _context(ocma: Ocma, workspace_id: str, caller: Caller) -> ToolContext:
    return ToolContext(
        ocma=ocma,
        workspace_id=workspace_id,
        caller=caller,
        thread_key="security:roles",
        timezone="UTC",
        now=lambda: datetime.now(UTC),
    )


def test_every_core_tool_names_its_own_action() -> None:
    generic = set(DEFAULT_ACTIONS.values())
    vague = [
        n for n, t in default_toolset().tools.items() if t.plugin == "ocma_agent" and t.action in generic
    ]
    assert vague == [], f"core tools must declare a specific action: {vague}"


@pytest.mark.parametrize("surface", AGENT_SURFACES)
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", TOOLS)
def test_tool_x_role_x_surface(shared_ocma: tuple[Ocma, str], name: str, role: Role, surface: str) -> None:
    ocma, workspace_id = shared_ocma
    toolset = default_toolset()
    tool = toolset.tools[name]
    ctx = _context(ocma, workspace_id, Caller(surface, user="tester", role=role))
    outcome = asyncio.run(toolset.call(ctx, "c1", name, {}))
    refused = "needs the" in (outcome.error or "") and tool.action.value in (outcome.error or "")
    if allowed(role, tool.action, surface):
        assert not refused, outcome.error
    else:
        assert refused and not outcome.ok, outcome.error
        assert least_role(tool.action, surface).value in (outcome.error or "")


@pytest.fixture
def http_mcp(ocma: Ocma) -> Iterator[str]:
    """`ocma mcp --transport http` in a thread on a free loopback port."""
    import uvicorn
    from ocma_agent.mcp_server import http_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(http_app(ocma), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=10)


def test_a_viewer_key_over_mcp_http_cannot_draft_edit_or_cancel(
    ocma: Ocma, workspace_id: str, account_id: str, http_mcp: str, backend: str
) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    if backend != "sqlite":
        pytest.skip("one database is enough for the transport")
    key = create_api_key(ocma, workspace_id, role=Role.VIEWER).key
    existing = posts.create_post(
        ocma, workspace_id, PostInput(body="Ours", account_ids=[account_id], action="draft")
    )

    async def main() -> dict[str, Any]:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
            Client(streamable_http_client(http_mcp, http_client=http)) as client,
        ):
            calls = {
                "draft_post": {"text": "Viewer draft", "account_ids": [account_id]},
                "edit_post": {"post_id": existing.id, "text": "Viewer edit"},
                "cancel_post": {"post_id": existing.id},
                "list_accounts": {},
            }
            return {name: await client.call_tool(name, args) for name, args in calls.items()}

    results = asyncio.run(main())
    for name in ("draft_post", "edit_post", "cancel_post"):
        assert results[name].is_error and "needs the editor role" in results[name].content[0].text
    assert not results["list_accounts"].is_error  # reading stays open to viewers
    stored = posts.list_posts(ocma, workspace_id)
    assert [(p.body, p.status) for p in stored] == [("Ours", PostStatus.DRAFT)]
