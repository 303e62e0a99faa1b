# ruff: noqa: F811  (the live and cli_run fixtures are imported from pinterest_live and cli_fixtures)
"""A Pinterest account's default board: chosen when connecting, changed in the API, the CLI and the agent
(checked against the boards Pinterest lists), and used by a post that names no board."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from cli_fixtures import Run, cli_run  # noqa: F401
from fastapi.testclient import TestClient
from pinterest_live import fake_pinterest, live  # noqa: F401

from ocma_core.context import Ocma
from ocma_core.db.models import Account, Role
from ocma_core.errors import ValidationFailed
from ocma_core.services.account_settings import update_account_settings

Live = tuple[fake_pinterest.FakePinterest, str]


def _board(fake: fake_pinterest.FakePinterest, name: str) -> str:
    return next(b for b, board in fake.state.boards.items() if board["name"] == name)


def _default(ocma: Ocma, account_id: str) -> Any:
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None
        return account.settings.get("default_board_id")


def test_the_api_shows_and_changes_the_default_board(ocma: Ocma, workspace_id: str, live: Live) -> None:
    from ocma_core.api.app import create_app
    from ocma_core.services.workspaces import create_api_key

    fake, account_id = live
    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role='admin').key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        shown = client.get(f"/v1/accounts/{account_id}", headers=admin).json()["settings"]
        spring = _board(fake, "Spring recipes")
        assert shown["default_board"] == f"Spring recipes ({spring})" and len(shown["boards"]) == 2
        answer = client.patch(
            f"/v1/accounts/{account_id}/settings",
            json={"settings": {"default_board": "OCMA launches"}},
            headers=admin,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["settings"]["default_board"].startswith("OCMA launches")
        refused = client.patch(
            f"/v1/accounts/{account_id}/settings", json={"settings": {"default_board": "Nope"}}, headers=admin
        )
        assert refused.status_code == 422 and "Spring recipes" in refused.text
        unknown = client.patch(
            f"/v1/accounts/{account_id}/settings", json={"settings": {"colour": "red"}}, headers=admin
        )
        assert unknown.status_code == 422 and "default_board" in unknown.text
    assert _default(ocma, account_id) == _board(fake, "OCMA launches")
    assert fake.state.spec_errors == []


def test_the_cli_changes_the_default_board_and_its_section(
    ocma: Ocma, workspace_id: str, live: Live, cli_run: Run
) -> None:
    fake, account_id = live
    launches = _board(fake, "OCMA launches")
    section = fake.state.sections[launches][0]
    code, out, err = cli_run(
        "accounts", "set", account_id, f"default_board={launches}", f"default_board_section={section['name']}"
    )
    assert code == 0, err
    assert f"default_board: OCMA launches ({launches})" in out
    with ocma.session() as s:
        account = s.get(Account, account_id)
        assert account is not None and account.settings["default_board_section_id"] == section["id"]
    code, out, _ = cli_run("accounts", "set", account_id)
    assert code == 0 and "Spring recipes" in out  # the choices are listed


def test_the_agent_sets_the_default_board(ocma: Ocma, workspace_id: str, live: Live) -> None:
    from ocma_agent.context import Caller, ToolContext
    from ocma_agent.tools import core_tools
    from ocma_agent.toolset import Toolset

    fake, account_id = live
    ctx = ToolContext(
        ocma,
        workspace_id,
        Caller("cli", user="t", role=Role.OWNER),
        "cli:t",
        "UTC",
        lambda: datetime.now(UTC),
    )
    tools = Toolset(core_tools())
    listed = asyncio.run(tools.call(ctx, "1", "list_accounts", {}))
    assert listed.ok and isinstance(listed.result, dict)
    assert listed.result["accounts"][0]["settings"]["default_board"].startswith("Spring recipes")
    outcome = asyncio.run(
        tools.call(
            ctx,
            "2",
            "set_account_setting",
            {"account_id": account_id, "name": "default_board", "value": "ocma launches"},
        )
    )
    assert outcome.ok, outcome.error
    assert _default(ocma, account_id) == _board(fake, "OCMA launches")
    spring = _board(fake, "Spring recipes")
    draft = asyncio.run(
        tools.call(
            ctx,
            "3",
            "draft_post",
            {"text": "Pie", "account_ids": [account_id], "options": {"pinterest": {"board_id": spring}}},
        )
    )
    assert draft.ok, draft.error
    from ocma_core.services import posts

    post = posts.get_post(ocma, workspace_id, draft.result["post_id"])  # type: ignore[index]
    assert post.options == {"pinterest": {"board_id": spring}}


def test_settings_a_platform_does_not_declare_are_refused(ocma: Ocma, workspace_id: str, live: Live) -> None:
    _, account_id = live
    with pytest.raises(ValidationFailed, match="no setting page"):
        asyncio.run(update_account_settings(ocma, workspace_id, account_id, {"page": "x"}))
