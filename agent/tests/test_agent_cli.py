"""`ocma chat`: streaming output, compact tool lines, inline approval prompts; clear advice without a model."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_model import ScriptedModel, call, last_result
from agent_support import next_weekday
from click.testing import CliRunner

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus
from ocma_core.plugins import PluginHost
from ocma_core.services import posts


@pytest.fixture
def cli(
    settings: Settings, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> CliRunner:
    """The `ocma` CLI on the test database, with the agent plugin's commands added."""
    import ocma_agent.plugin

    plugin_host.register(ocma_agent.plugin, name="agent")
    monkeypatch.setenv("OCMA_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OCMA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", str(settings.encryption_keys))
    monkeypatch.chdir(tmp_path)
    from ocma_core.cli.main import _add_plugin_commands

    _add_plugin_commands()
    return CliRunner()


def _main() -> object:
    from ocma_core.cli.main import cli

    return cli


def test_chat_streams_shows_tools_and_asks_before_scheduling(
    cli: CliRunner, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    when = next_weekday(1, 10)
    model.script(
        call(
            "draft_post",
            text="Our webinar is next Tuesday at 10:00. Save your seat!",
            account_ids=[account_id],
        ),
        lambda body: call(
            "schedule_post", post_id=last_result(body)["post_id"], when=when.strftime("%Y-%m-%dT%H:%M")
        ),
        "Scheduled for Tuesday 10:00 after your approval.",
    )
    result = cli.invoke(
        _main(),
        ["chat", "-w", workspace_id, "-m", "announce the webinar on Tuesday"],
        input="y\n",  # type: ignore[arg-type]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "> draft_post(text='Our webinar is next Tuesd...', account_ids=[1])" in out
    assert (
        "Approval needed: schedule post" in out and "to:   fakesocial @" in out and "Approve? [y/N]: y" in out
    )
    assert "ok: post_id=" in out and "status=scheduled" in out and "approval approved" in out
    assert out.rstrip().endswith("Scheduled for Tuesday 10:00 after your approval.")
    post = posts.list_posts(ocma, workspace_id)[0]
    assert post.status is PostStatus.SCHEDULED


def test_chat_declined_approval_leaves_the_post_waiting(
    cli: CliRunner, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    model.script(
        call("draft_post", text="Hello", account_ids=[account_id]),
        lambda body: call("publish_now", post_id=last_result(body)["post_id"]),
        "Not published: you declined.",
    )
    result = cli.invoke(_main(), ["chat", "-w", workspace_id, "-m", "publish hello"], input="n\n")  # type: ignore[arg-type]
    assert result.exit_code == 0 and "approval declined" in result.output
    assert posts.list_posts(ocma, workspace_id)[0].status is PostStatus.PENDING_APPROVAL


def test_interactive_chat_keeps_one_thread(
    cli: CliRunner, ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    model.script("Hi! How can I help?", "You said hello before.")
    result = cli.invoke(
        _main(), ["chat", "-w", workspace_id, "-t", "demo"], input="hello\nwhat did I say?\n\n"
    )  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    assert "Hi! How can I help?" in result.output and "You said hello before." in result.output
    second = model.chat_bodies()[1]["messages"]
    assert [m["role"] for m in second[1:]] == ["user", "assistant", "user"]


def test_chat_without_a_model_says_what_to_set(
    cli: CliRunner, workspace_id: str, no_model: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(_main(), ["chat", "-w", workspace_id, "-m", "hi"])  # type: ignore[arg-type]
    assert result.exit_code == 1
    assert "Error: No AI model is configured" in result.output and "Fix: Set OCMA_MODEL" in result.output
