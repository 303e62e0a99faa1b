"""The weekly report arrives on schedule: at the due time one of the workers emits report.weekly and the Slack
plugin posts the report with its charts (files upload v2) to the notification channel, once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from fake_slack import FakeSlack
from tests_support import run_worker, weekly_report_due

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.engine.weekly import last_due, parse_schedule, report_week
from ocma_core.plugins import PluginHost


def test_two_workers_at_the_due_time_post_the_report_once(
    settings: Settings,
    workspace_id: str,
    account_id: str,
    slack: FakeSlack,
    plugin_host: PluginHost,
) -> None:
    import ocma_slack

    plugin_host.register(ocma_slack, name="slack")
    ocma = Ocma(weekly_report_due(settings, "Europe/Berlin"))
    schedule = parse_schedule(ocma.settings.weekly_report_at)
    assert schedule is not None
    week = report_week(last_due(datetime.now(UTC), "Europe/Berlin", *schedule), "Europe/Berlin")
    done: list[float] = []

    def settled() -> bool:
        if slack.calls("files.completeUploadExternal") and not done:
            done.append(time.monotonic())
        return bool(done) and time.monotonic() - done[0] > 0.3

    pool = run_worker(ocma, settled, timeout=60, workers=2)
    assert all(w.report_checks >= 1 for w in pool) and sum(w.reports_emitted for w in pool) == 1

    [message] = slack.calls("chat.postMessage")
    assert message["channel"] == "C0NOTIFY" and message["text"].startswith(f"Report for week {week}")
    assert len(slack.calls("files.getUploadURLExternal")) == 2
    assert len(slack.uploads) == 2 and all(data.startswith(b"\x89PNG") for data in slack.uploads.values())
    [done_call] = slack.calls("files.completeUploadExternal")
    files = json.loads(done_call["files"])
    assert done_call["channel_id"] == "C0NOTIFY" and done_call["thread_ts"]
    assert sorted(f["id"] for f in files) == sorted(slack.uploads)
    assert all(week in f["title"] for f in files)
