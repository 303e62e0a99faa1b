"""The issue's "done when", on X and LinkedIn (their plugins, connected through their OAuth flows against
their fakes): from `ocma chat`, the API and an MCP client, "announce our webinar next Tuesday on X and
LinkedIn" ends in approved, scheduled, validated posts, and "how did last week's posts do?" is answered
from stored metrics only (no platform is asked)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from agent_model import ScriptedModel, call, last_result
from agent_support import next_weekday, seed_published, utc
from click.testing import CliRunner
from fastapi.testclient import TestClient
from ocma_agent.context import Caller
from ocma_agent.mcp_server import build_mcp_server

from ocma_core.config import Settings
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, Role, TargetStatus
from ocma_core.plugins import PluginHost
from ocma_core.registry import clear_caches
from ocma_core.services import accounts, posts
from ocma_core.services.workspaces import create_api_key

pytest.importorskip("ocma_x")
pytest.importorskip("ocma_linkedin")

ZONE = ZoneInfo("Europe/Berlin")
X_TEXT = (
    "Webinar next Tuesday 10:00 CET: plan a quarter of posts in one hour. Free seats: https://example.com/w"
)
LINKEDIN_TEXT = (
    "Join our live webinar next Tuesday at 10:00 CET. In one hour we show how a small team plans a whole "
    "quarter of social posts, with templates you can keep. Seats are free: https://example.com/w"
)
X_METRICS = {
    "like_count": 18,
    "retweet_count": 4,
    "reply_count": 3,
    "quote_count": 1,
    "bookmark_count": 2,
    "impression_count": 1200,
}
LINKEDIN_METRICS = {"IMPRESSION": 900, "MEMBERS_REACHED": 700, "REACTION": 25, "COMMENT": 6, "RESHARE": 2}


@dataclass
class Social:
    """The connected accounts and the fakes behind them."""

    x_id: str
    linkedin_id: str
    fakes: list[Any]

    def platform_requests(self) -> int:
        """Requests the platform fakes have received so far."""
        return sum(len(f.requests) for f in self.fakes)


@pytest.fixture
def social(
    ocma: Ocma, workspace_id: str, plugin_host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Social]:
    """X and LinkedIn accounts connected through the real OAuth flows against their fakes."""
    import ocma_linkedin
    import ocma_x
    from fake_linkedin import FakeLinkedIn
    from fake_x import CLIENT_ID as X_CLIENT_ID
    from fake_x import CONSUMER_SECRET, FakeX
    from linkedin_testkit import linkedin_env

    plugin_host.register(ocma_x, name="x")
    plugin_host.register(ocma_linkedin, name="linkedin")
    with FakeX() as fake_x, FakeLinkedIn() as fake_li:
        env = {
            "OCMA_X_API_BASE": fake_x.base_url,
            "OCMA_X_AUTH_BASE": fake_x.base_url,
            "OCMA_X_CLIENT_ID": X_CLIENT_ID,
            "OCMA_X_CONSUMER_SECRET": CONSUMER_SECRET,
            **linkedin_env(fake_li, "member organization"),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        clear_caches()
        ids = []
        for platform, fake in (("x", fake_x), ("linkedin", fake_li)):
            code, state = fake.authorize(accounts.start_connect(ocma, workspace_id, platform))
            ids.append(asyncio.run(accounts.complete_connect(ocma, platform, state=state, code=code)).id)
        yield Social(ids[0], ids[1], [fake_x, fake_li])
    clear_caches()


def _last_week() -> tuple[date, date]:
    today = datetime.now(ZONE).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def _seed_last_week(ocma: Ocma, workspace_id: str, social: Social) -> None:
    monday, _ = _last_week()
    when = datetime(monday.year, monday.month, monday.day, 9, tzinfo=ZONE) + timedelta(days=2)
    seed_published(
        ocma,
        workspace_id,
        [social.x_id, social.linkedin_id],
        "Last week's launch post",
        when,
        {"x": X_METRICS, "linkedin": LINKEDIN_METRICS},
    )
    seed_published(
        ocma, workspace_id, [social.x_id], "Older post", when - timedelta(days=30), {"x": {"like_count": 500}}
    )


def _tuesday() -> datetime:
    return next_weekday(1, 10)


def _announce(model: ScriptedModel) -> None:
    model.script(
        call("list_accounts"),
        lambda body: call(
            "draft_post",
            text=LINKEDIN_TEXT,
            variants={"x": X_TEXT},
            account_ids=[
                a["account_id"] for a in last_result(body)["accounts"] if a["platform"] in ("x", "linkedin")
            ],
        ),
        lambda body: call(
            "schedule_post", post_id=last_result(body)["post_id"], when=_tuesday().strftime("%Y-%m-%dT%H:%M")
        ),
        "Drafted for X and LinkedIn, validated by both, and scheduled for Tuesday 10:00.",
    )


def _report(body: dict[str, Any]) -> str:
    """The model's answer, written only from the performance_summary result it was given."""
    summary = last_result(body)
    totals = summary["totals"]
    top = summary["top_by_interactions"][0]
    return (
        f"Last week {summary['publications']} publications went out. Likes: {totals['likes']['total']:.0f}, "
        f"interactions: {totals['interactions']['total']:.0f}, impressions: {totals['impressions']['total']:.0f}. "
        f"Best: {top['platform']} with {top['interactions']:.0f} interactions."
    )


def _how_did_it_go(model: ScriptedModel) -> None:
    monday, sunday = _last_week()
    model.script(call("performance_summary", start=monday.isoformat(), end=sunday.isoformat()), _report)


EXPECTED = (
    "Last week 2 publications went out. Likes: 43, interactions: 61, impressions: 2100. "
    "Best: linkedin with 33 interactions."
)


def _assert_scheduled_and_valid(ocma: Ocma, workspace_id: str, social: Social) -> str:
    post = next(p for p in posts.list_posts(ocma, workspace_id) if p.body == LINKEDIN_TEXT)
    assert post.status is PostStatus.SCHEDULED and post.scheduled_at == utc(_tuesday())
    targets = {t.platform: t for t in posts.targets_of(ocma, post.id)}
    assert set(targets) == {"x", "linkedin"} and all(
        t.status is TargetStatus.QUEUED for t in targets.values()
    )
    assert post.variants == {"x": X_TEXT}
    return post.id


def _assert_validated(draft: dict[str, Any]) -> None:
    checks = {c["platform"]: c for c in draft["validation"]}
    assert checks["x"]["ok"] and checks["x"]["limit"] == 280 and checks["x"]["length"] < 280
    assert checks["linkedin"]["ok"] and checks["linkedin"]["limit"] == 3000


def test_done_from_ocma_chat(
    ocma: Ocma,
    settings: Settings,
    workspace_id: str,
    social: Social,
    model: ScriptedModel,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import ocma_agent.plugin

    from ocma_core.cli.main import _add_plugin_commands, cli

    plugin_host.register(ocma_agent.plugin, name="agent")
    for name, value in (
        ("OCMA_DATABASE_URL", settings.resolved_database_url),
        ("OCMA_DATA_DIR", str(settings.data_dir)),
        ("OCMA_ENCRYPTION_KEYS", str(settings.encryption_keys)),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    _add_plugin_commands()
    _seed_last_week(ocma, workspace_id, social)
    _announce(model)
    _how_did_it_go(model)
    before_report = None

    def count_after_first_turn(body: dict[str, Any]) -> Any:
        nonlocal before_report
        before_report = social.platform_requests()
        return call("performance_summary", start=_last_week()[0].isoformat(), end=_last_week()[1].isoformat())

    model.replies[-2] = count_after_first_turn
    result = CliRunner().invoke(
        cli,
        [
            "chat",
            "-w",
            workspace_id,
            "-t",
            "webinar",
            "-m",
            "announce our webinar next Tuesday on X and LinkedIn",
            "-m",
            "how did last week's posts do?",
        ],
        input="y\n",
    )
    assert result.exit_code == 0, result.output
    assert (
        "Approval needed: schedule post" in result.output
        and "x @" in result.output
        and "linkedin @" in result.output
    )
    _assert_validated(last_result(model.chat_bodies()[2]))
    _assert_scheduled_and_valid(ocma, workspace_id, social)
    assert result.output.rstrip().endswith(EXPECTED)
    assert social.platform_requests() == before_report  # the report asked no platform


def test_done_from_the_api(
    ocma: Ocma, workspace_id: str, social: Social, model: ScriptedModel, plugin_host: PluginHost
) -> None:
    import ocma_agent.plugin

    from ocma_core.api.app import create_app

    plugin_host.register(ocma_agent.plugin, name="agent")
    _seed_last_week(ocma, workspace_id, social)
    editor = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.EDITOR).key}"}
    admin = {"Authorization": f"Bearer {create_api_key(ocma, workspace_id, role=Role.ADMIN).key}"}
    with TestClient(create_app(ocma, run_worker=False)) as client:
        _announce(model)
        first = client.post(
            "/v1/agent/threads/webinar/messages",
            json={"text": "announce our webinar next Tuesday on X and LinkedIn"},
            headers=editor,
        ).json()
        _assert_validated(last_result(model.chat_bodies()[2]))
        pending = first["approvals"][0]
        assert pending["status"] == "pending" and sorted(a.split(" ")[0] for a in pending["accounts"]) == [
            "linkedin",
            "x",
        ]
        approved = client.post(
            f"/v1/agent/threads/webinar/approvals/{pending['post_id']}", json={"approve": True}, headers=admin
        )
        assert approved.json()["status"] == "scheduled"
        _assert_scheduled_and_valid(ocma, workspace_id, social)
        before = social.platform_requests()
        _how_did_it_go(model)
        second = client.post(
            "/v1/agent/threads/webinar/messages",
            json={"text": "how did last week's posts do?"},
            headers=editor,
        ).json()
    assert second["text"] == EXPECTED and social.platform_requests() == before
    # The model saw the approval note in the thread.
    notes = [
        m["content"] for m in model.chat_bodies()[-1]["messages"] if "Note from OCMA" in str(m.get("content"))
    ]
    assert notes and "approved" in notes[0]


def test_done_from_an_mcp_client(ocma: Ocma, workspace_id: str, social: Social) -> None:
    from mcp import Client

    _seed_last_week(ocma, workspace_id, social)
    server = build_mcp_server(
        ocma, workspace_id=workspace_id, caller=Caller("mcp", user="claude", role=Role.OWNER)
    )
    monday, sunday = _last_week()

    async def announce() -> dict[str, Any]:
        async with Client(server) as client:
            found = json.loads((await client.call_tool("list_accounts", {})).content[0].text)["accounts"]
            ids = [a["account_id"] for a in found if a["platform"] in ("x", "linkedin")]
            draft = (
                await client.call_tool(
                    "draft_post", {"text": LINKEDIN_TEXT, "variants": {"x": X_TEXT}, "account_ids": ids}
                )
            ).structured_content
            _assert_validated(draft)
            when = _tuesday().strftime("%Y-%m-%dT%H:%M")
            return (
                await client.call_tool("schedule_post", {"post_id": draft["post_id"], "when": when})
            ).structured_content

    held = asyncio.run(announce())
    assert held["status"] == "pending_approval"
    posts.approve_post(ocma, workspace_id, held["post_id"])  # a person approves (`ocma posts approve`)
    _assert_scheduled_and_valid(ocma, workspace_id, social)
    before = social.platform_requests()

    async def report() -> dict[str, Any]:
        async with Client(server) as client:
            result = await client.call_tool(
                "performance_summary", {"start": monday.isoformat(), "end": sunday.isoformat()}
            )
            return result.structured_content  # type: ignore[no-any-return]

    summary = asyncio.run(report())
    assert summary["totals"]["likes"]["total"] == 43 and summary["totals"]["interactions"]["total"] == 61
    assert summary["publications"] == 2 and social.platform_requests() == before
