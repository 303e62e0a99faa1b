"""`ocma slack --socket`: the bot connects over Socket Mode (apps.connections.open with the app-level token,
a one-time WebSocket URL, `hello`), handles envelopes in Slack's documented shapes and acknowledges each one."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from agent_model import ScriptedModel
from fake_slack import APP_TOKEN, FakeSlack
from fake_socket_mode import FakeSocketMode
from ocma_slack.socket_mode import SocketModeRunner
from slack_payloads import block_action, command_form, envelope, events_envelope, mention, view_submission
from test_slack_bot import wait_until

from ocma_core.context import Ocma
from ocma_core.errors import ConfigError


def test_connects_with_the_app_token_and_a_one_time_url(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, socket_mode: FakeSocketMode, socket_bot: SocketModeRunner
) -> None:
    opened = slack.requests_to("POST", r"/api/apps\.connections\.open")
    assert len(opened) == 1 and opened[0].bearer() == APP_TOKEN
    assert list(socket_mode.tickets.values()) == [True]  # the URL it was given, used once
    assert socket_mode.hellos == 1


def test_a_mention_reaches_the_agent_and_is_acknowledged(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    socket_bot: SocketModeRunner,
) -> None:
    model.script("Hello from Socket Mode! What shall we post?")
    body = mention("U0EDITOR", "hi")
    envelope_id = socket_mode.send(events_envelope(body))
    assert socket_mode.wait_ack(envelope_id) == {"envelope_id": envelope_id}
    answer = slack.wait_for("chat.postMessage")[0]
    assert answer["text"] == "Hello from Socket Mode! What shall we post?"
    assert answer["channel"] == "C0GENERAL" and answer["thread_ts"] == body["event"]["ts"]
    assert "hi" in str(model.chat_bodies()[0]["messages"][-1]["content"])


def test_a_retried_envelope_is_acknowledged_and_handled_once(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    socket_bot: SocketModeRunner,
) -> None:
    model.script("Hello!")
    body = mention("U0EDITOR", "hi")
    first = socket_mode.send(events_envelope(body))
    retry = socket_mode.send(events_envelope(body, retry_attempt=1, retry_reason="timeout"))
    assert first != retry
    assert socket_mode.wait_ack(first) == {"envelope_id": first}
    assert socket_mode.wait_ack(retry) == {"envelope_id": retry}
    slack.wait_for("chat.postMessage")
    time.sleep(0.3)
    assert len(model.chat_bodies()) == 1 and len(slack.calls("chat.postMessage")) == 1


def test_a_slash_command_over_socket_mode(
    ocma: Ocma,
    workspace_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    socket_bot: SocketModeRunner,
) -> None:
    form = command_form("U0EDITOR", "help", slack.base_url)
    envelope_id = socket_mode.send(envelope("slash_commands", form, accepts_response_payload=True))
    assert socket_mode.wait_ack(envelope_id) == {"envelope_id": envelope_id}
    wait_until(lambda: len(slack.responses()) >= 1)
    assert "/ocma queue" in slack.responses()[0]["text"]
    assert (
        slack.requests_to("POST", r"/response/.*")[0].path == form["response_url"].split(slack.base_url, 1)[1]
    )


def test_a_wrong_app_token_fails_at_once(
    ocma: Ocma,
    workspace_id: str,
    slack: FakeSlack,
    socket_mode: FakeSocketMode,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ocma_slack.runtime import runtime_for

    monkeypatch.setenv("OCMA_SLACK_APP_TOKEN", "xoxb-not-an-app-token")
    runner = SocketModeRunner(runtime_for(ocma, socket=True))
    with pytest.raises(ConfigError) as info:
        asyncio.run(asyncio.wait_for(runner.run(), 5))
    assert "not_allowed_token_type" in str(info.value) and "connections:write" in (info.value.fix or "")
    assert socket_mode.hellos == 0


def test_the_cli_says_what_socket_mode_needs(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner
    from ocma_slack.cli import slack as slack_command

    monkeypatch.delenv("OCMA_SLACK_APP_TOKEN", raising=False)
    result = CliRunner().invoke(slack_command, ["--socket"])
    assert result.exit_code == 1 and "OCMA_SLACK_APP_TOKEN" in result.output


def test_buttons_and_modals_over_socket_mode_answer_in_the_ack(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    socket_mode: FakeSocketMode,
    socket_bot: SocketModeRunner,
) -> None:
    from datetime import timedelta

    from test_slack_bot import buttons, card_of, script_draft

    from ocma_core.db.types import utcnow

    script_draft(model, "Held for approval.")
    socket_mode.send(events_envelope(mention("U0EDITOR", "announce the webinar")))
    card = card_of(slack)
    message = {"type": "message", "ts": "1700000000.000100", "text": card["text"], "blocks": card["blocks"]}
    value = buttons(card)["ocma_reschedule"]
    click = block_action("U0EDITOR", "ocma_reschedule", value, card["channel"], message)
    clicked = socket_mode.send(envelope("interactive", click, accepts_response_payload=True))
    assert socket_mode.wait_ack(clicked) == {"envelope_id": clicked}
    opened = slack.wait_for("views.open")[0]
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])

    past = int((utcnow() - timedelta(days=1)).timestamp())
    values = {"when": {"when": {"type": "datetimepicker", "selected_date_time": past}}}
    submitted = socket_mode.send(
        envelope("interactive", view_submission("U0EDITOR", view, values), accepts_response_payload=True)
    )
    ack = socket_mode.wait_ack(submitted)
    assert ack["envelope_id"] == submitted and ack["payload"]["response_action"] == "errors"
    assert "when" in ack["payload"]["errors"]
