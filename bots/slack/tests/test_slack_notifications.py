"""The notification feed in Slack: `/ocma notifications` and a mention asking "what's new" answer with the
unread notifications (personal fields withheld), and the button marks exactly those read (editors and up)."""

from __future__ import annotations

import json
from typing import Any

from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, block_action, command, interactive
from test_slack_bot import post_mention, wait_until

from ocma_core.app import events
from ocma_core.context import Ocma
from ocma_core.db.models import Member, Role
from ocma_core.events import Event, record
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches


def _seed(ocma: Ocma, workspace_id: str) -> None:
    sale = {"stripe_event_id": "evt_1", "object_id": "cs_1", "customer": "cus_SECRET", "amount": 4900}
    with ocma.session() as session:
        record(session, Event("post.published", workspace_id, {"post_id": "p1", "targets": []}))
        record(session, Event("stripe.checkout_completed", workspace_id, {**sale, "currency": "eur"}))
        record(session, Event("post.failed", workspace_id, {"post_id": "<!channel> p2", "targets": []}))
        session.add(
            Member(
                workspace_id=workspace_id,
                email="v@example.com",
                role=Role.VIEWER,
                external_ids={"slack": "U0VIEW"},
            )
        )


def _button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"])


def test_slash_notifications_lists_unread_and_the_button_marks_them(
    ocma: Ocma,
    workspace_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    plugin_host: PluginHost,
) -> None:
    import ocma_stripe

    plugin_host.register(ocma_stripe, name="stripe")
    clear_caches()
    _seed(ocma, workspace_id)
    assert command(web, "U0VIEW", "notifications", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 1)
    answer = slack.responses()[0]
    text = json.dumps(answer["blocks"])
    assert "3 unread notifications" in text and "stripe.checkout_completed" in text
    assert "cus_SECRET" not in text and "4900" not in text and "withheld" in text  # x-personal
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # payload text cannot ping a channel
    assert text.index("post.failed") < text.index("post.published")  # newest first
    button = _button(answer["blocks"])
    assert len(json.loads(button["value"])["ids"]) == 3

    message = {"ts": "1.000001", "text": answer["text"], "blocks": answer["blocks"]}
    viewer = block_action("U0VIEW", button["action_id"], button["value"], "C0GENERAL", message)
    viewer["response_url"] = f"{slack.base_url}/response/viewer-click"
    assert interactive(web, viewer, SECRET).status_code == 200
    told = slack.wait_for("chat.postEphemeral")[0]
    assert "editor" in told["text"] and events.unread_count(ocma, workspace_id) == 3  # a viewer cannot mark

    with ocma.session() as session:
        record(
            session, Event("post.published", workspace_id, {"post_id": "p3", "targets": []})
        )  # arrives later
    editor = block_action("U0EDITOR", button["action_id"], button["value"], "C0GENERAL", message)
    editor["response_url"] = f"{slack.base_url}/response/editor-click"
    assert interactive(web, editor, SECRET).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 2)
    done = slack.responses()[-1]
    assert done["replace_original"] is True
    assert "marked 3 notifications read; 1 unread left" in done["text"]  # exactly those shown
    assert [n.seq for n in events.list_notifications(ocma, workspace_id, unread=True)] == [4]


def test_mentioning_whats_new_answers_in_the_thread_without_the_agent(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, members: dict[str, str], web: TestClient
) -> None:
    with ocma.session() as session:
        record(session, Event("post.published", workspace_id, {"post_id": "p1", "targets": []}))
    body = post_mention(web, "U0EDITOR", "what's new?")
    posted = slack.wait_for("chat.postMessage")[0]
    assert posted["thread_ts"] == body["event"]["ts"]
    assert "1 unread notification" in json.dumps(posted["blocks"])
    events.mark_read(ocma, workspace_id, up_to_seq=1)
    post_mention(web, "U0ADMIN", "notifications")
    assert "No unread notifications." in json.dumps(slack.wait_for("chat.postMessage", 2)[1]["blocks"])
