"""After a reconnect, Slack shows the posts that fell due meanwhile with Publish now / Reschedule / Cancel."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, block_action, interactive
from sqlmodel import select
from test_slack_bot import wait_until

from ocma_core.context import Ocma
from ocma_core.db.models import Post, PostStatus, Target, TargetStatus
from ocma_core.db.types import utcnow
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput


def _due_in_the_past(ocma: Ocma, workspace_id: str, account_id: str, text: str, hours_ago: float) -> str:
    when = utcnow() + timedelta(hours=1)
    post = posts.create_post(
        ocma,
        workspace_id,
        PostInput(body=text, account_ids=[account_id], action="schedule", scheduled_at=when),
    )
    past = utcnow() - timedelta(hours=hours_ago)
    with ocma.session() as s:  # time passed while the account was broken
        row = s.get(Post, post.id)
        assert row is not None
        row.scheduled_at = past
        for target in s.exec(select(Target).where(Target.post_id == post.id)):
            target.due_at = past
            s.add(target)
        s.add(row)
    return post.id


def _status(ocma: Ocma, post_id: str) -> TargetStatus:
    return posts.targets_of(ocma, post_id)[0].status


def test_reconnect_card_publishes_reschedules_and_cancels(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    fake: Any,
) -> None:
    from tests_support import connect_fakesocial, run_worker

    web.post("/slack/events")  # builds the runtime for this OCMA context (401: unsigned)
    ids = [_due_in_the_past(ocma, workspace_id, account_id, f"Held {i}", 20 - i) for i in range(3)]
    fake.expire_tokens()
    with fake.lock:
        fake.state.refresh.clear()
    run_worker(ocma, lambda: all(_status(ocma, i) is TargetStatus.HELD for i in ids), timeout=15)
    connect_fakesocial(ocma, workspace_id, fake)

    def reconnected() -> list[dict[str, Any]]:  # the notices are posted in the background, in any order
        return [c for c in slack.calls("chat.postMessage") if "reconnected" in c["text"]]

    wait_until(lambda: bool(reconnected()))
    notice = reconnected()[0]
    assert "3 post(s) fell due" in notice["text"]
    blocks = notice["blocks"] if isinstance(notice["blocks"], list) else json.loads(notice["blocks"])
    choices = {b["block_id"]: b for b in blocks if b["type"] == "actions"}
    assert list(choices) == [f"ocma_held:{i}" for i in ids]
    message = {"type": "message", "ts": "1700000000.000300", "text": notice["text"], "blocks": blocks}

    publish = block_action("U0EDITOR", "ocma_held_publish", ids[0], "C0NOTIFY", message)
    assert interactive(web, publish, SECRET).status_code == 200
    later = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    reschedule = block_action("U0EDITOR", "ocma_held_reschedule", "", "C0NOTIFY", message)
    reschedule["actions"][0] = {
        "type": "datetimepicker",
        "action_id": "ocma_held_reschedule",
        "block_id": f"ocma_held:{ids[1]}",
        "selected_date_time": int(later.timestamp()),
        "action_ts": "1700000001.000000",
    }
    assert interactive(web, reschedule, SECRET).status_code == 200
    cancel = block_action("U0EDITOR", "ocma_held_cancel", ids[2], "C0NOTIFY", message)
    assert interactive(web, cancel, SECRET).status_code == 200
    wait_until(lambda: len(slack.calls("chat.update")) == 3)

    run_worker(ocma, lambda: _status(ocma, ids[0]) is TargetStatus.PUBLISHED, timeout=15)
    assert fake.published_texts() == ["Held 0"]
    moved = posts.targets_of(ocma, ids[1])[0]
    assert moved.status is TargetStatus.QUEUED and moved.due_at == later
    assert posts.get_post(ocma, workspace_id, ids[2]).status is PostStatus.CANCELLED
    updates = json.dumps([c["blocks"] for c in slack.calls("chat.update")])
    assert "Publishing now" in updates and "Rescheduled to" in updates and "Cancelled" in updates
