"""Slack users who are not members yet: told their id and the exact command, admins asked with a card, and once
in (by `ocma members add --slack` or a button) they chat with the agent. Signed requests through the real app."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
from agent_model import ScriptedModel
from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, block_action, command, interactive
from test_slack_bot import post_mention, wait_until

from ocma_core.context import Ocma
from ocma_core.db.models import Role
from ocma_core.services.members import list_members
from ocma_core.services.workspaces import create_api_key, get_workspace

STRANGER = "U0STRANGER"
ANSWER_WAIT_S = 120.0  # the first agent turn imports litellm, which takes long on a busy machine
CHANNEL = "C0NOTIFY"  # OCMA_SLACK_CHANNEL in conftest


def told(slack: FakeSlack, count: int = 1) -> str:
    """The latest private message to the stranger."""
    return str(slack.wait_for("chat.postEphemeral", count)[-1]["text"])


def cards_to(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """Join cards posted to a channel (or an admin's DM), blocks decoded."""
    found = []
    for call in slack.calls("chat.postMessage"):
        if call.get("channel") == channel and "asks to use OCMA" in (call.get("text") or ""):
            blocks = call["blocks"]
            found.append({**call, "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks})
    return found


def press(web: TestClient, user: str, action: str, card: dict[str, Any]) -> None:
    """Press a button of a join card as `user`."""
    buttons = next(b for b in card["blocks"] if b["type"] == "actions")["elements"]
    value = next(b["value"] for b in buttons if b["action_id"] == action)
    message = {"type": "message", "ts": "1700000000.000200", "text": card["text"], "blocks": card["blocks"]}
    payload = block_action(user, action, value, card["channel"], message)
    assert interactive(web, payload, SECRET).status_code == 200


def the_command(text: str) -> list[str]:
    """The command quoted in the message, as argv without the leading `ocma`."""
    line = text.split("```")[1]
    argv = shlex.split(line)
    assert argv[0] == "ocma"
    return argv[1:]


def run_cli(ocma: Ocma, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> int:
    """Run `ocma ARGV` against the test's database, as an admin at a terminal would."""
    from ocma_core.cli.main import main

    monkeypatch.setenv("OCMA_DATABASE_URL", ocma.settings.resolved_database_url.replace("+psycopg", ""))
    monkeypatch.setenv("OCMA_DATA_DIR", str(ocma.settings.data_dir))
    monkeypatch.setenv("OCMA_ENCRYPTION_KEYS", ocma.settings.encryption_keys or "")
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return int(exited.value.code or 0)


def test_members_add_with_the_slack_id_lets_that_user_chat_with_the_agent(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_mention(web, STRANGER, "what is planned this week?")
    text = told(slack)
    assert f"Your Slack member id is `{STRANGER}`" in text and "I have asked the admins" in text
    assert model.chat_bodies() == []  # a stranger never reaches the agent
    argv = the_command(text)
    assert argv == ["members", "add", "--slack", STRANGER, "--role", "editor"]

    assert run_cli(ocma, monkeypatch, argv) == 0

    model.script("Nothing is planned yet; shall I draft something?")
    body = post_mention(web, STRANGER, "what is planned this week?")
    wait_until(
        lambda: any("Nothing is planned" in (c.get("text") or "") for c in slack.calls("chat.postMessage")),
        ANSWER_WAIT_S,
    )
    answer = next(c for c in slack.calls("chat.postMessage") if "Nothing is planned" in (c.get("text") or ""))
    assert answer["thread_ts"] == body["event"]["ts"]
    system = model.chat_bodies()[-1]["messages"][0]["content"]
    assert f"Caller: slack {STRANGER} (editor)" in system
    assert len(slack.calls("chat.postEphemeral")) == 1  # no "not a member" the second time


def test_admins_get_one_card_a_day_and_let_the_stranger_in_with_a_button(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    slack.add_user(STRANGER, name="stranger.danger")
    post_mention(web, STRANGER, "hello")
    told(slack)
    wait_until(lambda: cards_to(slack, members["admin"]) != [])
    post_mention(web, STRANGER, "hello again")
    told(slack, 2)
    assert len(cards_to(slack, members["admin"])) == 1  # asked once, not on every message
    assert cards_to(slack, members["editor"]) == []  # editors cannot let people in
    card = cards_to(slack, members["admin"])[0]
    rendered = json.dumps(card["blocks"])
    assert (
        f"<@{STRANGER}> (stranger.danger)" in rendered and f"ocma members add --slack {STRANGER}" in rendered
    )

    press(web, members["editor"], "ocma_admit_editor", card)
    refusal = slack.wait_for("chat.postEphemeral", 3)[-1]
    assert refusal["user"] == members["editor"] and "only members with the admin role" in refusal["text"]
    assert STRANGER not in json.dumps([m.external_ids for m in list_members(ocma, workspace_id)])

    press(web, members["admin"], "ocma_admit_editor", card)
    wait_until(lambda: any(c.get("channel") == STRANGER for c in slack.calls("chat.postMessage")))
    joined = next(m for m in list_members(ocma, workspace_id) if m.external_ids.get("slack") == STRANGER)
    assert (joined.role, joined.name, joined.email) == (Role.EDITOR, "stranger.danger", None)
    update = slack.calls("chat.update")[-1]
    assert f"<@{STRANGER}> was let in as editor by <@{members['admin']}>" in update["text"]
    assert "actions" not in json.dumps(update["blocks"])  # the buttons are gone
    welcome = next(c for c in slack.calls("chat.postMessage") if c.get("channel") == STRANGER)
    assert "the editor role" in welcome["text"]

    model.script("Hi! What shall we post?")
    post_mention(web, STRANGER, "hi")
    wait_until(
        lambda: any("What shall we post" in (c.get("text") or "") for c in slack.calls("chat.postMessage")),
        ANSWER_WAIT_S,
    )

    press(web, members["admin"], "ocma_admit_admin", card)  # a stale card changes nothing
    wait_until(lambda: "already a member (editor)" in (slack.calls("chat.update")[-1].get("text") or ""))
    assert [m.role for m in list_members(ocma, workspace_id) if m.external_ids.get("slack") == STRANGER] == [
        Role.EDITOR
    ]


def test_ignore_closes_the_card_and_lets_nobody_in(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, members: dict[str, str], web: TestClient
) -> None:
    post_mention(web, STRANGER, "hello")
    wait_until(lambda: cards_to(slack, members["admin"]) != [])
    press(web, members["admin"], "ocma_admit_ignore", cards_to(slack, members["admin"])[0])
    wait_until(lambda: slack.calls("chat.update") != [])
    assert "was not let in" in slack.calls("chat.update")[-1]["text"]
    assert len(list_members(ocma, workspace_id)) == 3  # the owner, the admin and the editor


def test_without_linked_admins_the_card_goes_to_the_channel_set_for_the_workspace(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, web: TestClient
) -> None:
    post_mention(web, STRANGER, "hello")
    wait_until(lambda: cards_to(slack, CHANNEL) != [])  # OCMA_SLACK_CHANNEL, nobody linked yet

    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.ADMIN).key}"}
    refused = web.patch(
        "/v1/workspaces/current", headers=admin, json={"settings": {"slack_channel": "#general"}}
    )
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["field"] == "slack_channel" and "Channel ID" in refused.json()["fix"]
    changed = web.patch(
        "/v1/workspaces/current", headers=admin, json={"settings": {"slack_channel": "C0TEAM"}}
    )
    assert changed.status_code == 200 and changed.json()["settings"]["slack_channel"] == "C0TEAM"
    assert get_workspace(ocma, workspace_id).settings["slack"] == {"channel": "C0TEAM"}

    post_mention(web, "U0OTHER", "hello")
    wait_until(lambda: cards_to(slack, "C0TEAM") != [])


def test_the_slash_command_tells_a_stranger_the_command_too(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, members: dict[str, str], web: TestClient
) -> None:
    assert command(web, STRANGER, "queue", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: slack.responses() != [])
    reply = slack.responses()[-1]["text"]
    assert f"ocma members add --slack {STRANGER} --role editor" in reply and "/ocma queue" in reply


def test_a_stranger_writing_in_a_direct_message_gets_the_answer_there(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, members: dict[str, str], web: TestClient
) -> None:
    from slack_payloads import event, send

    body = event("message", STRANGER, "hello?", channel="D0STRANGER", channel_type="im")
    assert send(web, json.dumps(body), "application/json", SECRET).status_code == 200
    wait_until(lambda: any(c.get("channel") == "D0STRANGER" for c in slack.calls("chat.postMessage")))
    reply = next(c for c in slack.calls("chat.postMessage") if c.get("channel") == "D0STRANGER")
    assert f"ocma members add --slack {STRANGER} --role editor" in reply["text"]
    assert slack.calls("chat.postEphemeral") == []  # a DM is private already, and stays readable
