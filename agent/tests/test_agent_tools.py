"""Tools: schemas derived from type hints and docstrings, plugin tools, and the core tools' behaviour."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from agent_model import ScriptedModel
from agent_support import CLI, next_weekday, seed_published
from ocma_agent.context import ToolContext
from ocma_agent.tokens import schema_tokens
from ocma_agent.toolkit import Tool, parse_docstring, tool
from ocma_agent.tools import clear, core_tools, default_toolset
from ocma_agent.toolset import Toolset

from ocma_core import hookimpl
from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus, TargetStatus
from ocma_core.plugins import PluginHost
from ocma_core.services import posts
from ocma_core.services.post_input import PostInput
from ocma_core.services.workspaces import update_settings


def _sample(
    ctx: ToolContext,
    title: str,
    tags: list[str],
    tone: Literal["calm", "bold"] = "calm",
    limit: int | None = None,
) -> dict[str, Any]:
    """Make a sample post.

    Longer explanation that the model does not need.

    Args:
        title: The headline.
        tags: Hashtags to use,
            without the # sign.
        tone: How it sounds.
        limit: Most characters.

    Returns:
        The sample.
    """
    return {"title": title, "tags": tags, "tone": tone, "limit": limit, "workspace": ctx.workspace_id}


def test_schema_comes_from_type_hints_and_docstring() -> None:
    sample = Tool.from_function(_sample, effect="write")
    assert sample.schema() == {
        "type": "function",
        "function": {
            "name": "_sample",
            "description": "Make a sample post. Longer explanation that the model does not need.",
            "parameters": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "The headline."},
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Hashtags to use, without the # sign.",
                    },
                    "tone": {
                        "type": "string",
                        "enum": ["calm", "bold"],
                        "default": "calm",
                        "description": "How it sounds.",
                    },
                    "limit": {"type": "integer", "description": "Most characters."},
                },
                "required": ["title", "tags"],
            },
        },
    }
    assert sample.injected == {"ctx": "context"} and sample.effect == "write"


def test_arguments_are_validated_against_the_schema() -> None:
    sample = Tool.from_function(_sample)
    assert sample.validate({"title": "t", "tags": ["a"]}) == {
        "title": "t",
        "tags": ["a"],
        "tone": "calm",
        "limit": None,
    }
    with pytest.raises(ValueError, match=r"tone: Input should be 'calm' or 'bold'.*extra: Extra inputs"):
        sample.validate({"title": "t", "tags": [], "tone": "loud", "extra": 1})


def test_a_tool_needs_a_docstring_and_a_known_effect() -> None:
    def bare(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="needs a docstring"):
        Tool.from_function(bare)
    with pytest.raises(TypeError, match="effect must be one of"):
        tool(effect="loud")(_sample)  # type: ignore[arg-type]
    assert parse_docstring("One line.") == ("One line.", {})


def test_core_tools_are_described_and_their_schemas_fit_the_token_budget() -> None:
    tools = core_tools()
    names = {t.name for t in tools}
    assert {
        "list_accounts",
        "draft_post",
        "edit_post",
        "validate_post",
        "adapt_post",
        "generate_image",
        "schedule_post",
        "publish_now",
        "retry_post",
        "cancel_post",
        "calendar",
        "post_metrics",
        "performance_summary",
        "plan_campaign",
        "campaign_step",
        "fetch_page",
    } <= names
    for item in tools:
        assert item.description and "ctx" not in item.parameters["properties"]
        for name, prop in item.parameters["properties"].items():
            assert prop.get("description"), f"{item.name}.{name} has no description"
    assert {t.name for t in tools if t.effect == "public"} == {
        "edit_post",
        "schedule_post",
        "publish_now",
        "retry_post",
        "delete_published_post",
    }
    assert [t.name for t in tools if t.untrusted] == ["fetch_page", "recent_events"]  # webhook.* detail
    assert schema_tokens([t.schema() for t in tools]) < 3000


class _BoardsPlugin:
    """A plugin adding tools through register_tools, as a platform plugin would."""

    __name__ = "ocma_boards"

    @staticmethod
    @hookimpl
    def register_tools(register: Any) -> None:
        def list_boards(workspace_id: str, ocma: Ocma) -> list[str]:
            """List the Pinterest boards of the workspace."""
            return [f"board of {workspace_id[:4]}"]

        def list_accounts() -> str:
            """A clashing name."""
            return "plugin's"

        register(list_boards)
        register(list_accounts)


def test_plugins_add_tools_through_register_tools(
    ocma: Ocma, workspace_id: str, plugin_host: PluginHost
) -> None:
    plugin_host.register(_BoardsPlugin(), name="ocma_boards")
    clear()
    toolset = default_toolset()
    boards = toolset.get("list_boards")
    assert boards is not None and boards.plugin == "ocma_boards" and boards.untrusted
    assert boards.parameters == {"type": "object", "properties": {}}  # workspace_id and ocma are filled in
    assert toolset.get("list_accounts_1") is None  # a clashing tool is not renamed ...
    assert toolset.get("list_accounts").plugin == "ocma_agent"  # type: ignore[union-attr]
    error = next(info.error for info in plugin_host.errors if info.name == "ocma_boards")
    assert "'list_accounts' is already registered by ocma_agent" in (error or "")  # ... but reported
    ctx = ToolContext(ocma, workspace_id, CLI, "t", "UTC", lambda: datetime.now(UTC))
    outcome = asyncio.run(toolset.call(ctx, "1", "list_boards", "{}"))
    assert outcome.ok and outcome.result == [f"board of {workspace_id[:4]}"] and ctx.tainted
    clear()


def _ctx(ocma: Ocma, workspace_id: str, *, hold: bool = True) -> ToolContext:
    ctx = ToolContext(ocma, workspace_id, CLI, "cli:t", "Europe/Berlin", lambda: datetime.now(UTC))
    ctx.state["policy"] = {} if hold else {"agent_policy": {"act_directly": {"cli": "owner"}}}
    return ctx


def _run(ctx: ToolContext, name: str, **arguments: Any) -> dict[str, Any]:
    outcome = asyncio.run(Toolset(core_tools()).call(ctx, "x", name, arguments, settings=ctx.state["policy"]))
    assert outcome.ok, outcome.error
    assert isinstance(outcome.result, dict)
    return outcome.result


def test_reports_come_only_from_stored_metrics(
    ocma: Ocma, workspace_id: str, account_id: str, fake: Any
) -> None:
    now = datetime.now(UTC)
    first = seed_published(
        ocma,
        workspace_id,
        [account_id],
        "Spring launch",
        now - timedelta(days=3),
        {"fakesocial": {"likes": 12, "reposts": 3, "replies": 2, "impressions": 800}},
    )
    seed_published(
        ocma,
        workspace_id,
        [account_id],
        "Behind the scenes",
        now - timedelta(days=2),
        {"fakesocial": {"likes": 30, "reposts": 1, "replies": 5, "impressions": 1500}},
    )
    seed_published(ocma, workspace_id, [account_id], "Too fresh", now - timedelta(days=1), None)
    seed_published(
        ocma, workspace_id, [account_id], "Long ago", now - timedelta(days=40), {"fakesocial": {"likes": 999}}
    )
    requests_before = len(fake.requests)
    ctx = _ctx(ocma, workspace_id)
    start, end = (now - timedelta(days=7)).date().isoformat(), now.date().isoformat()
    summary = _run(ctx, "performance_summary", start=start, end=end)

    assert summary["publications"] == 3 and summary["with_metrics"] == 2
    assert summary["totals"]["likes"] == {"total": 42.0, "posts": 2}
    assert summary["totals"]["interactions"] == {"total": 53.0, "posts": 2}
    assert summary["top_by_interactions"][0]["interactions"] == 36.0
    assert [m["post_id"] for m in summary["no_metrics_yet"]] != [] and "nothing was fetched" in summary[
        "source"
    ]
    metrics = _run(ctx, "post_metrics", post_id=first)
    assert metrics["metrics"][0]["metrics"] == {"likes": 12, "reposts": 3, "replies": 2, "impressions": 800}
    assert len(fake.requests) == requests_before  # no platform was asked


def test_calendar_lists_planned_drafts_and_scheduled_posts(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    ctx = _ctx(ocma, workspace_id, hold=False)
    tuesday = next_weekday(1, 10)
    draft = _run(
        ctx,
        "draft_post",
        text="Planned",
        account_ids=[account_id],
        planned_at=tuesday.strftime("%Y-%m-%dT%H:%M"),
    )
    other = _run(ctx, "draft_post", text="Scheduled", account_ids=[account_id])
    _run(
        ctx,
        "schedule_post",
        post_id=other["post_id"],
        when=(tuesday + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    )
    listed = _run(ctx, "calendar", start=tuesday.date().isoformat(), end=tuesday.date().isoformat())
    assert [(p["post_id"], p["status"]) for p in listed["posts"]] == [
        (draft["post_id"], "draft"),
        (other["post_id"], "scheduled"),
    ]
    assert listed["posts"][0]["at"].startswith(f"Tue {tuesday.date().isoformat()}T10:00+0")
    assert (
        draft["at"] is not None and posts.targets_of(ocma, draft["post_id"])[0].status is TargetStatus.DRAFT
    )


def test_editing_a_scheduled_post_holds_it_again(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    direct = _ctx(ocma, workspace_id, hold=False)
    made = _run(direct, "draft_post", text="v1", account_ids=[account_id])
    _run(direct, "schedule_post", post_id=made["post_id"], when=next_weekday(2, 9).strftime("%Y-%m-%dT%H:%M"))
    held = _ctx(ocma, workspace_id)
    edited = _run(held, "edit_post", post_id=made["post_id"], text="v2")
    assert edited["status"] == "pending_approval" and edited["approval"][0]["action"] == "edit"
    assert posts.targets_of(ocma, made["post_id"])[0].status is TargetStatus.DRAFT


def test_retry_of_a_failed_post_can_wait_for_approval(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    from ocma_core.db.models import Target

    post = posts.create_post(
        ocma, workspace_id, PostInput(body="x", account_ids=[account_id], action="publish_now")
    )
    with ocma.session() as session:
        for target in session.exec(posts.select(Target).where(Target.post_id == post.id)):
            target.status, target.last_error = TargetStatus.FAILED, "rejected: duplicate"
            session.add(target)
    result = _run(_ctx(ocma, workspace_id), "retry_post", post_id=post.id)
    assert result["status"] == "pending_approval" and result["approval"][0]["action"] == "retry"
    assert posts.approve_post(ocma, workspace_id, post.id).status is PostStatus.SCHEDULED
    assert posts.targets_of(ocma, post.id)[0].status is TargetStatus.QUEUED


def test_adapt_post_saves_validated_variants(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    model.script(json.dumps({"platforms": {"fakesocial": {"text": "Short FakeSocial version #webinar"}}}))
    ctx = _ctx(ocma, workspace_id)
    made = _run(
        ctx,
        "draft_post",
        text="A long original message about our webinar next week.",
        account_ids=[account_id],
    )
    adapted = _run(ctx, "adapt_post", post_id=made["post_id"])
    assert adapted["variants"] == {"fakesocial": "Short FakeSocial version #webinar"}
    assert adapted["adapted"][0]["ok"] and adapted["valid"]
    assert model.chat_bodies()[0]["response_format"] == {"type": "json_object"}


def test_generate_image_stores_it_and_attaches_it_to_the_post(
    ocma: Ocma,
    workspace_id: str,
    account_id: str,
    model: ScriptedModel,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = _ctx(ocma, workspace_id)
    made = _run(ctx, "draft_post", text="Webinar", account_ids=[account_id])
    missing = asyncio.run(
        Toolset(core_tools()).call(ctx, "i", "generate_image", {"prompt": "a", "alt_text": "b"})
    )
    assert not missing.ok and "No image provider is installed" in (missing.error or "")

    import ocma_openai_images

    from ocma_core.ai import registry as ai_registry

    plugin_host.register(ocma_openai_images, name="openai-images")
    ai_registry.clear()
    monkeypatch.setenv("OPENAI_API_KEY", model.api_keys.copy().pop())
    monkeypatch.setenv("OCMA_OPENAI_IMAGES_API_BASE", model.api_base)
    image = _run(
        ctx,
        "generate_image",
        prompt="A calm desk with a cup of tea",
        alt_text="A cup of tea on a desk",
        platform="linkedin",
        post_id=made["post_id"],
    )
    assert len(image["media_ids"]) == 1 and image["provider"] == "openai-images"
    assert image["post"]["media_ids"] == image["media_ids"]
    assert model.requests_to("POST", "/v1/images/generations")


def test_schedule_at_the_best_time_from_analytics(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    now = datetime.now(UTC)
    for days in range(3, 30, 3):
        seed_published(
            ocma,
            workspace_id,
            [account_id],
            f"Post {days}",
            now - timedelta(days=days, hours=days % 5),
            {"fakesocial": {"likes": 10 + days, "reposts": 2, "replies": 1, "impressions": 500}},
        )
    ctx = _ctx(ocma, workspace_id)
    made = _run(ctx, "draft_post", text="At the best time", account_ids=[account_id])
    arguments = {"post_id": made["post_id"], "when": "best_time"}
    refused = asyncio.run(
        Toolset(core_tools()).call(ctx, "x", "schedule_post", arguments, settings=ctx.state["policy"])
    )
    assert not refused.ok and "No measured best time" in str(refused.error)
    update_settings(ocma, workspace_id, queue_slots={"weekdays": [], "times": ["09:00"]})
    scheduled = _run(ctx, "schedule_post", post_id=made["post_id"], when="best_time")
    # nine posts measure nothing: no best time is claimed, the queue's next free slot is used and said so
    assert scheduled["status"] == "pending_approval" and scheduled["best_time"]["slot"] is None
    assert (
        scheduled["best_time"]["basis"] == "too_few_posts" and scheduled["best_time"]["expected_lift"] is None
    )
    assert "queue's next free slot" in scheduled["best_time"]["note"]
    post = posts.get_post(ocma, workspace_id, made["post_id"])
    assert post.scheduled_at is not None and post.scheduled_at > now


def test_the_summary_carries_the_analytics_reading_of_the_period(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    now = datetime.now(UTC)
    seed_published(
        ocma, workspace_id, [account_id], "Launch", now - timedelta(days=2), {"fakesocial": {"likes": 12}}
    )
    summary = _run(
        _ctx(ocma, workspace_id),
        "performance_summary",
        start=(now - timedelta(days=7)).date().isoformat(),
        end=now.date().isoformat(),
    )
    assert "From 1 posts with stored metrics" in summary["analysis"], summary.get("analysis_note")


def test_next_slot_reschedule_and_cancel(ocma: Ocma, workspace_id: str, account_id: str) -> None:
    from ocma_core.services.workspaces import update_settings

    update_settings(ocma, workspace_id, queue_slots={"weekdays": ["mon", "wed", "fri"], "times": ["09:30"]})
    ctx = _ctx(ocma, workspace_id, hold=False)
    made = _run(ctx, "draft_post", text="Queue me", account_ids=[account_id])
    queued = _run(ctx, "schedule_post", post_id=made["post_id"], when="next_slot")
    assert (
        queued["status"] == "scheduled"
        and "T09:30" in queued["at"]
        and queued["at"][:3] in ("Mon", "Wed", "Fri")
    )
    later = next_weekday(3, 16)
    moved = _run(ctx, "schedule_post", post_id=made["post_id"], when=later.strftime("%Y-%m-%dT%H:%M"))
    assert (
        moved["status"] == "scheduled"
        and posts.get_post(ocma, workspace_id, made["post_id"]).scheduled_at == later
    )
    cancelled = _run(ctx, "cancel_post", post_id=made["post_id"])
    assert cancelled["status"] == "cancelled" and cancelled["targets"][0]["status"] == "cancelled"


def test_top_posts_are_ranked_at_the_same_age_not_by_their_latest_counts(
    ocma: Ocma, workspace_id: str, account_id: str
) -> None:
    from sqlmodel import select

    from ocma_core.db.models import PostMetricSnapshot, Target

    now = datetime.now(UTC)
    old = seed_published(
        ocma, workspace_id, [account_id], "Older", now - timedelta(days=5), {"fakesocial": {"likes": 20}}
    )
    seed_published(
        ocma, workspace_id, [account_id], "Younger", now - timedelta(days=2), {"fakesocial": {"likes": 30}}
    )
    with ocma.session() as session:  # the older post kept growing after its first day
        target = session.exec(select(Target).where(Target.post_id == old)).one()
        assert target.published_at is not None
        session.add(
            PostMetricSnapshot(
                target_id=target.id,
                account_id=account_id,
                platform="fakesocial",
                fetched_at=target.published_at + timedelta(days=4),
                values={"likes": 45},
            )
        )
    start, end = (now - timedelta(days=7)).date().isoformat(), now.date().isoformat()
    summary = _run(_ctx(ocma, workspace_id), "performance_summary", start=start, end=end)
    top = summary["top_by_interactions"]
    assert top[0]["post_id"] != old and top[0]["interactions_at_24h"] == 30.0
    assert top[1]["interactions_at_24h"] == 20.0 and top[1]["interactions"] == 45.0
    assert "24 h after publishing" in summary["ranking"]
