"""The agent's settings (agent_policy, agent) are settable from the CLI and the API, and checked when set:
the policy validator runs on every change, and a refused value names the field and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import API
from fastapi.testclient import TestClient

from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.errors import ValidationFailed
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches
from ocma_core.services.workspaces import change_workspace, create_api_key, get_workspace


@pytest.fixture
def agent_plugin(plugin_host: PluginHost) -> Iterator[None]:
    """The agent registered as the entry point registers it."""
    from ocma_agent import plugin

    plugin_host.register(plugin, name="agent")
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def api(ocma: Ocma, agent_plugin: None) -> Iterator[TestClient]:
    from ocma_core.api.app import create_app

    with TestClient(create_app(ocma, run_worker=False)) as client:
        yield client


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"act_directly": {"web": "admin"}}, "unknown surface 'web'; one of cli, api, mcp, slack"),
        ({"act_directly": {"slack": "boss"}}, "Input should be 'owner', 'admin', 'editor' or 'viewer'"),
        ({"act_directly": {"slack": "admin"}, "also": 1}, "Extra inputs are not permitted"),
        ("slack=admin", "Input should be a valid dictionary or instance of AgentPolicy"),
    ],
)
def test_the_policy_validator_refuses_what_the_policy_would_ignore(
    ocma: Ocma, workspace_id: str, agent_plugin: None, value: Any, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        change_workspace(ocma, workspace_id, settings={"agent_policy": value})
    problem = refused.value.problems[0]
    assert problem["field"].startswith("agent_policy") and message in problem["message"]
    assert "surfaces cli, api, mcp, slack" in problem["fix"]
    assert get_workspace(ocma, workspace_id).settings == {}


def test_policy_set_through_the_api_governs_the_agent(ocma: Ocma, workspace_id: str, api: TestClient) -> None:
    from ocma_agent.policy import decide

    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.ADMIN).key}"}
    refused = api.patch(
        "/v1/workspaces/current",
        headers=admin,
        json={"settings": {"agent_policy": {"act_directly": {"web": "x"}}}},
    )
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["problems"][0]["field"].startswith("agent_policy") and refused.json()["fix"]
    settings = get_workspace(ocma, workspace_id).settings
    assert not decide(settings, API, tainted=False).direct
    answer = api.patch(
        "/v1/workspaces/current",
        headers=admin,
        json={"settings": {"agent_policy": {"act_directly": {"api": "editor"}}, "agent": {"max_steps": 4}}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["settings"]["agent_policy"] == {"act_directly": {"api": "editor"}}
    assert answer.json()["settings"]["agent"] == {"max_steps": 4}
    settings = get_workspace(ocma, workspace_id).settings
    assert decide(settings, API, tainted=False).direct
    assert not decide(settings, API, tainted=True).direct  # outside text still holds everything


def test_agent_limits_are_checked_and_read_by_the_loop(
    ocma: Ocma, workspace_id: str, agent_plugin: None
) -> None:
    from ocma_agent.loop import AgentSettings

    with pytest.raises(ValidationFailed) as refused:
        change_workspace(ocma, workspace_id, settings={"agent": {"max_steps": 0, "reply_tokens": 10**6}})
    assert {p["field"] for p in refused.value.problems} == {"agent.max_steps", "agent.reply_tokens"}
    assert "max_steps 1-50" in refused.value.problems[0]["fix"]
    workspace = change_workspace(
        ocma, workspace_id, settings={"agent": {"max_steps": 3, "model": "openai/gpt-4o-mini"}}
    )
    limits = AgentSettings.from_settings(workspace.settings)
    assert (limits.max_steps, limits.model, limits.reply_tokens) == (3, "openai/gpt-4o-mini", 1_500)
