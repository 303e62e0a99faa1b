"""Slack's retries run once across OCMA processes and restarts: the event claim lives in the database."""

from __future__ import annotations

import json
import time

from agent_model import ScriptedModel
from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, mention, send

from ocma_core.context import Ocma
from ocma_core.plugins import PluginHost


def replica(ocma: Ocma) -> TestClient:
    """Another `ocma serve` on the same database: its own OCMA context, FastAPI app and Slack runtime."""
    from ocma_core.api.app import create_app

    return TestClient(create_app(Ocma(ocma.settings), run_worker=False))


def test_a_retry_reaching_another_replica_or_a_restarted_one_is_not_run_again(
    ocma: Ocma,
    workspace_id: str,
    model: ScriptedModel,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    plugin_host: PluginHost,
) -> None:
    from ocma_slack.runtime import forget_all

    model.script("Hello! What shall we post?")
    raw = json.dumps(mention("U0EDITOR", "hi"))
    assert send(web, raw, "application/json", SECRET).status_code == 200
    slack.wait_for("chat.postMessage")

    with replica(ocma) as other:  # Slack's retry lands on a second replica
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert send(other, raw, "application/json", SECRET, retry).status_code == 200
        time.sleep(0.3)  # a listener would run now, after the ack
    forget_all()  # every runtime gone, as after a restart
    with replica(ocma) as restarted:
        retry = {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
        assert send(restarted, raw, "application/json", SECRET, retry).status_code == 200
        time.sleep(0.3)
    assert len(model.chat_bodies()) == 1
    assert [c["text"] for c in slack.calls("chat.postMessage")] == ["Hello! What shall we post?"]
