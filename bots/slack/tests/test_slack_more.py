"""OAuth installs for many Slack workspaces, Reject and Reschedule on approval cards, and `/ocma schedule` /
`/ocma connect`, through the real OCMA app against the fake Slack Web API."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from agent_model import ScriptedModel
from fake_slack import TEAM_ID, FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, command, event, interactive, send, view_submission
from sqlalchemy import text
from test_slack_bot import buttons, card_of, click, post_mention, script_draft, wait_until

from ocma_core.context import Ocma
from ocma_core.db.models import OAuthState, PostStatus, Workspace
from ocma_core.db.types import utcnow
from ocma_core.services import posts

INSTALLED_TOKEN = "xoxb-installed-" + TEAM_ID


def oauth_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the bot to multi-workspace OAuth mode (no bot token) before its runtime is built."""
    from ocma_slack.runtime import forget_all

    monkeypatch.delenv("OCMA_SLACK_BOT_TOKEN")
    monkeypatch.setenv("OCMA_SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("OCMA_SLACK_CLIENT_SECRET", "client-secret")
    forget_all()


def install_state(web: TestClient) -> tuple[str, dict[str, str]]:
    """GET /slack/install: the state of the authorize link it offers and the browser's state cookie.

    Bolt sets the cookie `Secure` (OCMA is served over https); TestClient speaks http, so the cookie is handed
    back by hand as the browser would.
    """
    page = web.get("/slack/install")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    assert cookie.startswith("slack-app-oauth-state=")
    link = re.search(r'https://slack\.com/oauth/v2/authorize\?[^"\']+', page.text)
    assert link, page.text
    query = parse_qs(urlparse(link.group(0).replace("&amp;", "&")).query)
    assert query["client_id"] == ["111.222"] and "chat:write" in query["scope"][0].split(",")
    return query["state"][0], {"Cookie": cookie}


def test_oauth_install_stores_encrypted_and_serves_the_team(
    ocma: Ocma,
    workspace_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oauth_mode(monkeypatch)
    state, cookie = install_state(web)
    done = web.get("/slack/oauth_redirect", params={"code": "good-code", "state": state}, headers=cookie)
    assert done.status_code == 200, done.text
    exchange = slack.calls("oauth.v2.access")
    assert len(exchange) == 1 and exchange[0]["code"] == "good-code"

    table = Workspace.__tablename__
    with ocma.engine.connect() as conn:
        raw = [row[0] for row in conn.execute(text(f"SELECT CAST(settings AS TEXT) FROM {table}"))]
    stored = "".join(raw)
    assert TEAM_ID in stored and INSTALLED_TOKEN not in stored and "xoxb-" not in stored
    from ocma_slack import store

    record = store.team_record(ocma, TEAM_ID)
    assert record is not None
    assert store.decrypt_installation(ocma, record["installation"])["bot_token"] == INSTALLED_TOKEN
    assert store.workspace_for_team(ocma, TEAM_ID) == workspace_id

    # A later event from that team is answered with the stored token.
    body = event("app_home_opened", "U0ADMIN", "", tab="home")
    assert send(web, json.dumps(body), "application/json", SECRET).status_code == 200
    slack.wait_for("views.publish")
    publishes = slack.requests_to("POST", r"/api/views\.publish")
    assert publishes and all(r.bearer() == INSTALLED_TOKEN for r in publishes)


def test_oauth_bad_or_replayed_state_is_refused(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    oauth_mode(monkeypatch)
    _, cookie = install_state(web)
    bad = web.get(
        "/slack/oauth_redirect", params={"code": "good-code", "state": "forged-state"}, headers=cookie
    )
    assert bad.status_code >= 400 and slack.calls("oauth.v2.access") == []

    state, cookie = install_state(web)
    query = {"code": "good-code", "state": state}
    assert web.get("/slack/oauth_redirect", params=query, headers=cookie).status_code == 200
    again = web.get("/slack/oauth_redirect", params=query, headers=cookie)
    assert again.status_code >= 400 and len(slack.calls("oauth.v2.access")) == 1


def test_reject_by_a_disallowed_then_an_allowed_member(
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
    post_id = json.loads(buttons(card)["ocma_reject"])["p"]

    click(web, slack, "U0EDITOR", "ocma_reject", card)
    told = slack.wait_for("chat.postEphemeral")[0]
    assert told["user"] == "U0EDITOR" and "reject posts" in told["text"] and "editor" in told["text"]
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.PENDING_APPROVAL
    assert slack.calls("chat.update") == []

    click(web, slack, "U0ADMIN", "ocma_reject", card)
    update = slack.wait_for("chat.update")[0]
    assert "Rejected by <@U0ADMIN>" in update["text"] and update["ts"] == "1700000000.000100"
    assert "ocma_approve" not in json.dumps(update["blocks"])
    assert posts.get_post(ocma, workspace_id, post_id).status is PostStatus.CANCELLED


def test_reschedule_through_the_modal(
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
    post_id = json.loads(buttons(card)["ocma_reschedule"])["p"]
    before = posts.get_post(ocma, workspace_id, post_id).scheduled_at
    assert before is not None
    click(web, slack, "U0EDITOR", "ocma_reschedule", card)
    opened = slack.wait_for("views.open")[0]
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "ocma_reschedule_view"
    assert view["blocks"][0]["element"]["initial_date_time"] == int(before.timestamp())

    past = int((utcnow() - timedelta(days=1)).timestamp())
    values = {"when": {"when": {"type": "datetimepicker", "selected_date_time": past}}}
    refused = interactive(web, view_submission("U0EDITOR", view, values), SECRET)
    assert refused.status_code == 200 and refused.json()["response_action"] == "errors"
    assert posts.get_post(ocma, workspace_id, post_id).scheduled_at == before

    new = int((before + timedelta(days=2, hours=3)).timestamp())
    values = {"when": {"when": {"type": "datetimepicker", "selected_date_time": new}}}
    response = interactive(web, view_submission("U0EDITOR", view, values), SECRET)
    assert response.status_code == 200 and not response.content
    post = posts.get_post(ocma, workspace_id, post_id)
    assert post.scheduled_at is not None and int(post.scheduled_at.timestamp()) == new
    assert post.status is PostStatus.PENDING_APPROVAL
    redrawn = slack.wait_for("chat.update")[0]
    assert f"<!date^{new}^" in json.dumps(redrawn["blocks"]) and "ocma_approve" in json.dumps(
        redrawn["blocks"]
    )


def test_slash_schedule_starts_an_agent_thread(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    script_draft(model, "Drafted and held for approval.")
    assert (
        command(web, "U0EDITOR", "schedule our webinar next Tuesday", SECRET, slack.base_url).status_code
        == 200
    )
    slack.wait_for("chat.postMessage", 3)  # the request in the channel, the agent's answer, the card
    card = card_of(slack)
    opener = slack.calls("chat.postMessage")[0]
    assert (
        opener["channel"] == "C0GENERAL" and opener["text"] == "<@U0EDITOR> asked: our webinar next Tuesday"
    )
    assert card["channel"] == "C0GENERAL" and card["thread_ts"]
    post = posts.list_posts(ocma, workspace_id)[0]
    assert post.status is PostStatus.PENDING_APPROVAL
    assert "Schedule a post: our webinar next Tuesday" in json.dumps(model.chat_bodies()[0])


def test_slash_connect(
    ocma: Ocma, workspace_id: str, slack: FakeSlack, fake: object, members: dict[str, str], web: TestClient
) -> None:
    assert command(web, "U0EDITOR", "connect fakesocial", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 1)
    assert "Only admins and owners" in slack.responses()[0]["text"]
    assert command(web, "U0ADMIN", "connect fakesocial", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 2)
    reply = slack.responses()[1]["text"]
    link = re.match(r"<(\S+)\|Connect your fakesocial account>", reply)
    assert link, reply
    query = parse_qs(urlparse(link.group(1)).query)
    assert query["state"][0]
    with ocma.session() as session:
        from sqlmodel import select

        rows = session.exec(select(OAuthState).where(OAuthState.workspace_id == workspace_id)).all()
    assert len(rows) == 1 and rows[0].platform == "fakesocial"
