"""`/ocma report` answers with last week's report built from stored metrics (published through the engine to
FakeSocial and collected from it), and `/ocma queue` lists what is planned."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fake_slack import FakeSlack
from fastapi.testclient import TestClient
from slack_payloads import SECRET, command
from test_metrics_collection import publish
from test_slack_bot import wait_until

from ocma_core.analytics import builtin_analyzers
from ocma_core.analytics.periods import parse_period
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches
from ocma_core.services import metrics, posts
from ocma_core.services.post_input import PostInput


def test_slash_report_posts_last_weeks_report_from_stored_metrics(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    fake: Any,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
    plugin_host: PluginHost,
) -> None:
    plugin_host.register(builtin_analyzers, name="builtin_analyzers")
    clear_caches()
    last_week = parse_period("last-week", "Europe/Berlin")
    age = utcnow() - (last_week.start + timedelta(days=2, hours=10))  # Wednesday of last week
    launch, quiet = publish(ocma, workspace_id, account_id, ["Launch day!", "Quiet update"], age=age)
    fake.set_metrics(launch.external_id, likes=120, reposts=30, replies=10, impressions=4000)
    fake.set_metrics(quiet.external_id, likes=4, reposts=0, replies=1, impressions=3000)
    fake.set_followers(1400)
    assert asyncio.run(metrics.collect_due(ocma, 50)) == 3  # two posts and the account

    assert command(web, "U0EDITOR", "report", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 1)
    text = "\n".join(r["text"] for r in slack.responses())
    assert text.startswith(f"Report for {last_week.label} (Europe/Berlin)")
    assert "From 2 posts with stored metrics" in text
    assert "2 posts, 165 interactions" in text  # 120 + 30 + 10 and 4 + 0 + 1, as FakeSocial reported
    # Measured once, days after publishing, with no earlier posts: nothing to rank at one age, and it says so.
    assert "Not ranked: posts are compared at 24 h after publishing" in text


def test_slash_queue_lists_the_next_seven_days(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    slack: FakeSlack,
    members: dict[str, str],
    web: TestClient,
) -> None:
    soon = utcnow() + timedelta(days=2)
    later = utcnow() + timedelta(days=9)
    for body, when in (("Webinar reminder", soon), ("Next month's news", later)):
        posts.create_post(
            ocma,
            workspace_id,
            PostInput(body=body, account_ids=[account_id], action="schedule", scheduled_at=when),
        )
    assert command(web, "U0EDITOR", "queue", SECRET, slack.base_url).status_code == 200
    wait_until(lambda: len(slack.responses()) >= 1)
    text = slack.responses()[0]["text"]
    assert text.startswith("*Next 7 days*") and "Webinar reminder" in text
    assert "Next month's news" not in text
