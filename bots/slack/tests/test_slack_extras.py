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
