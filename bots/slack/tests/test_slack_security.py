"""Finding "Slack Home serves strangers" (issue 14): a Slack user who is no OCMA member saw 14 posts on App Home
and got a live reconnect link, which worked. Every Slack surface checks membership and role first, with the
same permission check as the API (ocma_core.permissions). The button test is generated from the listeners the
app registers, so a new button is covered the day it lands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, block_action, event, interactive, send, view_submission
from sqlmodel import func, select
from test_slack_bot import wait_until

from ocma_core.context import Ocma
from ocma_core.db.models import Account, AccountStatus, Member, OAuthState, Post, Role
from ocma_core.services.post_input import PostInput
from ocma_core.services.posts import create_post

STRANGER, VIEWER = "U0STRANGER", "U0VIEWER"
SECRET_TEXT = "Our secret launch plan"


@pytest.fixture
def broken_and_pending(ocma: Ocma, workspace_id: str, account_id: str) -> str:
    """A pending post with secret text, and the account needing a reconnect (what Home shows)."""
    post = create_post(
        ocma, workspace_id, PostInput(body=SECRET_TEXT, account_ids=[account_id], action="draft")
    )
    with ocma.session() as session:
        stored = session.get(Post, post.id)
        account = session.get(Account, account_id)
        assert stored is not None and account is not None
        stored.status = "pending_approval"  # type: ignore[assignment]
        account.status, account.last_error = AccountStatus.NEEDS_RECONNECT, "token revoked"
        session.add(stored)
        session.add(account)
        session.add(
            Member(
                workspace_id=workspace_id,
                email="viewer@example.com",
                role=Role.VIEWER,
                external_ids={"slack": VIEWER},
            )
        )
    return post.id


def _home(web: TestClient, slack: FakeSlack, user: str) -> str:
    before = len(slack.calls("views.publish"))
    body = event("app_home_opened", user, "", tab="home")
    assert send(web, json.dumps(body), "application/json", SECRET).status_code == 200
    published = slack.wait_for("views.publish", before + 1)[-1]
    assert published["user_id"] == user
    view = published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    return json.dumps(view)


def _oauth_states(ocma: Ocma) -> int:
    with ocma.session() as session:
        return int(session.exec(select(func.count()).select_from(OAuthState)).one())


def test_home_shows_a_stranger_nothing_and_no_reconnect_link(
    ocma: Ocma, slack: FakeSlack, members: dict[str, str], web: TestClient, broken_and_pending: str
) -> None:
    started = _oauth_states(ocma)  # the account fixture's own connection
    shown = _home(web, slack, STRANGER)
    assert "not a member" in shown and STRANGER in shown
    assert SECRET_TEXT not in shown and "fakesocial" not in shown.lower()
    assert "ocma_reconnect" not in shown and "ocma_approve" not in shown
    assert _oauth_states(ocma) == started  # no authorisation was even started for them


def test_home_gives_a_viewer_posts_but_no_reconnect_link_or_approve_button(
    ocma: Ocma, slack: FakeSlack, members: dict[str, str], web: TestClient, broken_and_pending: str
) -> None:
    started = _oauth_states(ocma)
    shown = _home(web, slack, VIEWER)
    assert SECRET_TEXT in shown and "An admin can reconnect it" in shown
    assert "ocma_reconnect" not in shown and "ocma_approve" not in shown and "ocma_reject" not in shown
    assert _oauth_states(ocma) == started


def test_home_gives_an_admin_the_reconnect_link_and_approve_buttons(
    ocma: Ocma, slack: FakeSlack, members: dict[str, str], web: TestClient, broken_and_pending: str
) -> None:
    started = _oauth_states(ocma)
    shown = _home(web, slack, members["admin"])
    assert "ocma_reconnect" in shown and "ocma_approve" in shown and SECRET_TEXT in shown
    assert _oauth_states(ocma) == started + 1


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """The action ids and view callback ids the Slack app registers (recorded as the app is built)."""
    from slack_bolt.app.async_app import AsyncApp

    found: dict[str, list[str]] = {"action": [], "view": []}
    for kind in found:
        original = getattr(AsyncApp, kind)

        def recording(
            self: Any, constraints: Any, *args: Any, _kind: str = kind, _orig: Any = original, **kw: Any
        ) -> Any:
            if isinstance(constraints, str):
                found[_kind].append(constraints)
            return _orig(self, constraints, *args, **kw)

        monkeypatch.setattr(AsyncApp, kind, recording)
    yield found


def _state(ocma: Ocma) -> tuple[Any, ...]:
    """Everything a button could change: posts, members, accounts, started authorisations."""
    with ocma.session() as session:
        posts = sorted((p.id, str(p.status), p.body) for p in session.exec(select(Post)))
        people = sorted((m.id, str(m.role)) for m in session.exec(select(Member)))
        accounts = sorted((a.id, str(a.status)) for a in session.exec(select(Account)))
    return posts, people, accounts, _oauth_states(ocma)


def _said(slack: FakeSlack) -> list[str]:
    """Every text the bot sent (ephemeral or not), ordered by when Slack got it."""
    with slack.lock:
        found = [r for r in slack.requests if r.path in ("/api/chat.postEphemeral", "/api/chat.postMessage")]
    return [str(slack.args(r).get("text", "")) for r in found]


def test_every_button_and_modal_refuses_a_stranger(
    ocma: Ocma,
    workspace_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    registered: dict[str, list[str]],
    web: TestClient,
    broken_and_pending: str,
) -> None:
    from ocma_slack.runtime import runtime_for

    runtime_for(ocma)  # build the app: its listeners are recorded
    assert len(registered["action"]) >= 8 and registered["view"], registered
    before = _state(ocma)
    value = json.dumps({"p": broken_and_pending, "t": "slack:T:C:1", "u": STRANGER, "r": "admin", "a": None})
    message = {"type": "message", "ts": "1700000000.000100", "text": "card", "blocks": []}
    for action in registered["action"]:
        if action == "ocma_reconnect":  # a link button: Slack only tells the app it was opened
            continue
        told = _said(slack)
        payload = block_action(STRANGER, action, value, "C0GENERAL", message)
        assert interactive(web, payload, SECRET).status_code == 200
        wait_until(lambda told=told: len(_said(slack)) > len(told))  # type: ignore[misc]
        new = _said(slack)[len(told) :]
        assert any("not a member" in s for s in new), (action, new)
    for callback in registered["view"]:
        view = {
            "type": "modal",
            "callback_id": callback,
            "private_metadata": json.dumps({"p": broken_and_pending, "t": ""}),
        }
        values = {
            "text:fakesocial": {"text": {"type": "plain_text_input", "value": "stranger text"}},
            "when": {"when": {"type": "datetimepicker", "selected_date_time": 1900000000}},
        }
        answer = interactive(web, view_submission(STRANGER, view, values), SECRET)
        assert answer.status_code == 200 and "errors" in answer.text, (callback, answer.text)
    assert slack.calls("views.open") == []
    assert slack.calls("chat.update") == []
    assert _state(ocma) == before
