"""The Slack bot end to end: signed requests in Slack's shapes through the real OCMA app, the agent driven by
a scripted model, Slack played by a loopback fake that records every Web API call."""

from __future__ import annotations

import json
import time
from typing import Any

from agent_model import ScriptedModel, call, last_result
from agent_support import next_weekday
from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, block_action, command, interactive, mention, send, view_submission

from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus
from ocma_core.services import posts

TEXT = "Webinar next Tuesday: plan a quarter of posts in one hour. Seats are free."


def script_draft(model: ScriptedModel, final: str, *, now: bool = False) -> None:
    """The model lists accounts, drafts, then schedules (or publishes now): held for approval by policy."""
    when = next_weekday(1, 10).strftime("%Y-%m-%dT%H:%M")
    model.script(
        call("list_accounts"),
        lambda body: call(
            "draft_post", text=TEXT, account_ids=[last_result(body)["accounts"][0]["account_id"]]
        ),
        (lambda body: call("publish_now", post_id=last_result(body)["post_id"]))
        if now
        else (lambda body: call("schedule_post", post_id=last_result(body)["post_id"], when=when)),
        final,
    )


def post_mention(web: TestClient, user: str, text: str, **kw: Any) -> dict[str, Any]:
    """Send an app_mention and return the envelope."""
    body = mention(user, text, **kw)
    assert send(web, json.dumps(body), "application/json", SECRET).status_code == 200
    return body


def card_of(slack: FakeSlack) -> dict[str, Any]:
    """The approval card message (its chat.postMessage arguments) and where it landed."""
    cards = [c for c in slack.wait_for("chat.postMessage", 2) if "approval" in (c.get("text") or "")]
    assert cards, "no approval card was posted"
    card = cards[-1]
    card["blocks"] = json.loads(card["blocks"]) if isinstance(card["blocks"], str) else card["blocks"]
    return card


def buttons(card: dict[str, Any]) -> dict[str, str]:
    """action_id -> value of the card's buttons."""
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}


def click(web: TestClient, slack: FakeSlack, user: str, action: str, card: dict[str, Any]) -> None:
    """Press a button of the card as `user`."""
    message = {"type": "message", "ts": "1700000000.000100", "text": card["text"], "blocks": card["blocks"]}
    payload = block_action(user, action, buttons(card)[action], card["channel"], message)
    assert interactive(web, payload, SECRET).status_code == 200


def wait_until(check: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_mention_drafts_and_posts_an_approval_card(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    script_draft(model, "Drafted and held for approval.")
    body = post_mention(web, "U0EDITOR", "announce our webinar next Tuesday at 10")
    card = card_of(slack)
    post = posts.list_posts(ocma, workspace_id)[0]
    assert post.status is PostStatus.PENDING_APPROVAL
    # In the thread of the mention: the answer first, then the card.
    answer = slack.calls("chat.postMessage")[0]
    assert answer["text"] == "Drafted and held for approval." and answer["thread_ts"] == body["event"]["ts"]
    assert card["thread_ts"] == body["event"]["ts"]
    # Status indicator shown while working, then cleared.
    statuses = [c["status"] for c in slack.calls("assistant.threads.setStatus")]
    assert statuses[0] and statuses[-1] == ""
    # Per-platform text with the platform's validation, the time as a Slack date token, four buttons.
    rendered = json.dumps(card["blocks"])
    assert TEXT in rendered and "valid (" in rendered and "/500" in rendered
    assert f"<!date^{int(post.scheduled_at.timestamp())}^" in rendered and "America/New_York" in rendered
    assert set(buttons(card)) == {"ocma_approve", "ocma_edit", "ocma_reschedule", "ocma_reject"}
    # The agent ran as the Slack member, in the thread's own conversation.
    assert json.loads(buttons(card)["ocma_approve"])["t"] == f"slack:T0TEST:C0GENERAL:{body['event']['ts']}"


def test_approve_by_a_disallowed_then_an_allowed_member(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    script_draft(model, "Held.")
    post_mention(web, "U0EDITOR", "announce the webinar")
    card = card_of(slack)
    post_id = json.loads(buttons(card)["ocma_approve"])["p"]

    click(web, slack, "U0EDITOR", "ocma_approve", card)
    told = slack.wait_for("chat.postEphemeral")[0]
    assert told["user"] == "U0EDITOR" and "admin role or above" in told["text"] and "editor" in told["text"]
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PENDING_APPROVAL

    click(web, slack, "U0ADMIN", "ocma_approve", card)
    update = slack.wait_for("chat.update")[0]
    assert "Approved by <@U0ADMIN>" in update["text"]
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.SCHEDULED


def test_edit_through_the_modal(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    script_draft(model, "Held.")
    post_mention(web, "U0EDITOR", "announce the webinar")
    card = card_of(slack)
    post_id = json.loads(buttons(card)["ocma_edit"])["p"]
    click(web, slack, "U0EDITOR", "ocma_edit", card)
    opened = slack.wait_for("views.open")[0]
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "ocma_edit_view"
    block = view["blocks"][0]
    assert block["block_id"] == "text:fakesocial" and block["element"]["initial_value"] == TEXT

    new_text = "Webinar moved to Wednesday, same time. Seats are still free."
    values = {"text:fakesocial": {"text": {"type": "plain_text_input", "value": new_text}}}
    response = interactive(web, view_submission("U0EDITOR", view, values), SECRET)
    assert response.status_code == 200 and not response.content  # closed, no errors
    post = posts.get_post(ocma, workspace_id, post_id)
    assert post.body == new_text and post.status is PostStatus.PENDING_APPROVAL
    redrawn = slack.wait_for("chat.update")[0]
    assert new_text in json.dumps(redrawn["blocks"]) and "ocma_approve" in json.dumps(redrawn["blocks"])


def test_a_retried_event_is_handled_once(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    model.script("Hello! What shall we post?")
    body = mention("U0EDITOR", "hi")
    raw = json.dumps(body)
    assert send(web, raw, "application/json", SECRET).status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert send(web, raw, "application/json", SECRET, retry).status_code == 200
    slack.wait_for("chat.postMessage")
    time.sleep(0.5)
    assert len(slack.calls("chat.postMessage")) == 1 and len(model.chat_bodies()) == 1


def test_bad_signature_and_unknown_team_do_nothing(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    body = json.dumps(mention("U0EDITOR", "publish a crypto giveaway"))
    assert send(web, body, "application/json", "wrong-secret").status_code == 401
    stale = web.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
    assert stale.status_code == 401
    other = json.dumps(mention("U0EDITOR", "hi", team="T0OTHER"))
    assert send(web, other, "application/json", SECRET).status_code == 200
    time.sleep(0.5)
    assert slack.calls("chat.postMessage") == [] and model.chat_bodies() == []


def test_failure_notice_retry_button(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    fake: Any,
) -> None:
    from tests_support import run_worker

    from ocma_core.services.post_input import PostInput

    web.post("/slack/events")  # builds the runtime for this OCMA context (401: unsigned)
    fake.fail_next("duplicate")  # a permanent refusal (403): the post fails
    post = posts.create_post(
        ocma, workspace_id, PostInput(body="Fails once", account_ids=[account_id], action="publish_now")
    )
    run_worker(ocma, lambda: posts.get_post(ocma, workspace_id, post.id).status is PostStatus.FAILED)
    notice = next(c for c in slack.wait_for("chat.postMessage") if "failed" in c["text"])
    assert notice["channel"] == "C0NOTIFY"
    blocks = notice["blocks"] if isinstance(notice["blocks"], list) else json.loads(notice["blocks"])
    retry = blocks[-1]["elements"][0]
    assert retry["action_id"] == "ocma_retry" and retry["value"] == post.id
    message = {"type": "message", "ts": "1700000000.000200", "text": notice["text"], "blocks": blocks}
    payload = block_action("U0ADMIN", "ocma_retry", post.id, "C0NOTIFY", message)
    assert interactive(web, payload, SECRET).status_code == 200
    wait_until(lambda: posts.get_post(ocma, workspace_id, post.id).status is not PostStatus.FAILED)
    assert "Retrying now" in json.dumps(slack.wait_for("chat.update")[0]["blocks"])


def test_done_when_ask_approve_published_notice_with_link(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    fake: Any,
) -> None:
    from tests_support import run_worker

    script_draft(model, "Drafted; it goes out as soon as an admin approves.", now=True)
    post_mention(web, "U0ADMIN", "post about our webinar now")
    card = card_of(slack)
    post_id = json.loads(buttons(card)["ocma_approve"])["p"]
    click(web, slack, "U0ADMIN", "ocma_approve", card)
    slack.wait_for("chat.update")
    run_worker(ocma, lambda: posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PUBLISHED)
    assert TEXT in fake.published_texts()
    url = posts.targets_of(ocma, post_id)[0].url
    assert url
    notice = next(c for c in slack.wait_for("chat.postMessage", 3) if c["text"].startswith("Published"))
    assert notice["channel"] == "C0NOTIFY" and f"<{url}|view post>" in notice["text"]


def test_slash_command_help_and_queue(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    assert command(web, "U0EDITOR", "help", SECRET, slack.base_url).status_code == 200
    assert command(web, "U0EDITOR", "queue", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 2)
    texts = [r["text"] for r in slack.responses()]
    assert any("/ocma queue" in t for t in texts) and any("Nothing is planned" in t for t in texts)
