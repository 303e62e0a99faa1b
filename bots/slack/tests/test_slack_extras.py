"""App Home and the weekly report's chart upload (files upload v2) against the fake Slack."""

from __future__ import annotations

import json

from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, event, send

from ocma_core.context import Ocma


def test_app_home_is_published(
    ocma: Ocma, workspace_id: str, account_id: str, slack: FakeSlack, members: dict[str, str], web: TestClient
) -> None:
    body = event("app_home_opened", "U0ADMIN", "", tab="home")
    assert send(web, json.dumps(body), "application/json", SECRET).status_code == 200
    published = slack.wait_for("views.publish")[0]
    view = published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    text = json.dumps(view)
    assert published["user_id"] == "U0ADMIN" and view["type"] == "home"
    assert "Connections" in text and "fakesocial" in text and "No post is waiting for approval." in text


def test_weekly_report_uploads_png_charts(
    ocma: Ocma, workspace_id: str, account_id: str, slack: FakeSlack, web: TestClient
) -> None:
    from ocma_slack.notify import weekly_report
    from ocma_slack.runtime import runtime_for

    client = runtime_for(ocma).sync_client(workspace_id)
    assert client is not None
    result = weekly_report(ocma, client, workspace_id, "C0NOTIFY")
    assert slack.calls("chat.postMessage")[0]["channel"] == "C0NOTIFY"
    assert len(slack.calls("files.getUploadURLExternal")) == 2
    assert len(result["files"]) == 2
    assert all(data.startswith(b"\x89PNG") for data in slack.uploads.values())
    done = slack.calls("files.completeUploadExternal")[0]
    assert done["channel_id"] == "C0NOTIFY" and len(json.loads(done["files"])) == 2


def test_manifests_ask_for_what_the_bot_uses() -> None:
    from pathlib import Path

    import yaml
    from ocma_slack.config import BOT_SCOPES

    root = Path(__file__).parent.parent
    http = yaml.safe_load((root / "manifest.yml").read_text())
    socket = yaml.safe_load((root / "manifest-socket.yml").read_text())
    for manifest in (http, socket):
        assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
        events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
        assert {"app_mention", "message.im", "app_home_opened"} <= events
        assert manifest["features"]["slash_commands"][0]["command"] == "/ocma"
        assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert (
        http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"] is True
    )
    assert http["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert http["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    assert "request_url" not in socket["settings"]["event_subscriptions"] and "url" not in str(
        socket["features"]["slash_commands"]
    )
