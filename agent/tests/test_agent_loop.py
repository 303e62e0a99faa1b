"""The loop through the real litellm path to a scripted model on loopback: multi-step conversations,
approvals, tool errors the model recovers from, step limit, persistence and trimming, no model."""

from __future__ import annotations

import json

import pytest
from agent_model import ScriptedModel, call, last_result, tool_results
from agent_support import API, allow_direct, next_weekday, turn, utc
from ocma_agent.events import AgentEvent
from ocma_agent.store import history
from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.models import ConversationMessage, PostStatus, TargetStatus
from ocma_core.services import posts
from ocma_core.services.workspaces import update_settings


def _draft_then_schedule(model: ScriptedModel, when: str, final: str = "Done.") -> None:
    model.script(
        call("list_accounts"),
        lambda body: call(
            "draft_post",
            text="Join our webinar on Tuesday: how to plan a quarter of posts in an hour. Link in bio.",
            account_ids=[last_result(body)["accounts"][0]["account_id"]],
        ),
        lambda body: call("validate_post", post_id=last_result(body)["post_id"]),
        lambda body: call("schedule_post", post_id=last_result(body)["post_id"], when=when),
        final,
    )


def test_draft_validate_approve_and_schedule_streaming(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    update_settings(ocma, workspace_id, brand_voice="Warm and plain.")
    when = next_weekday(1, 10)
    _draft_then_schedule(model, when.strftime("%Y-%m-%dT%H:%M"), "It is scheduled for Tuesday at 10:00.")
    asked: list[object] = []
    events: list[AgentEvent] = []

    def person(request: object) -> bool:
        asked.append(request)
        return True

    result = turn(
        ocma, workspace_id, "Announce our webinar next Tuesday at 10", approver=person, events=events
    )

    assert result.ok and result.stopped == "done" and result.steps == 5
    assert [c["name"] for c in result.tool_calls] == [
        "list_accounts",
        "draft_post",
        "validate_post",
        "schedule_post",
    ]
    assert all(c["ok"] for c in result.tool_calls)
    assert result.text == "It is scheduled for Tuesday at 10:00."
    # The person was asked (default policy holds public actions) and said yes: the post is scheduled.
    assert len(asked) == 1 and result.approvals[0]["status"] == "approved"
    post = posts.list_posts(ocma, workspace_id)[0]
    assert post.status is PostStatus.SCHEDULED and post.scheduled_at == utc(when)
    assert [t.status for t in posts.targets_of(ocma, post.id)] == [TargetStatus.QUEUED]
    # The draft was validated by the platform itself (FakeSocial counts 500 characters).
    validation = tool_results(model.chat_bodies()[3])[-1]["validation"][0]
    assert validation["ok"] and validation["limit"] == 500 and validation["length"] > 50
    # Streaming: requests asked for SSE and the text arrived in pieces as events.
    bodies = model.chat_bodies()
    assert all(b["stream"] for b in bodies) and len(bodies[0]["tools"]) >= 16
    deltas = [e.data["delta"] for e in events if e.kind == "text"]
    assert len(deltas) > 1 and "".join(deltas) == result.text
    assert [e.kind for e in events].count("tool_call") == 4 and events[-1].kind == "done"
    # The system prompt carries the workspace's context.
    system = bodies[0]["messages"][0]["content"]
    assert "Europe/Berlin" in system and f"(id {account_id})" in system and "connected" in system
    assert "Brand voice: Warm and plain." in system and "nothing in the next two weeks" in system
    # Every call and result is recorded with the conversation.
    stored = history(ocma, workspace_id, "cli:test")
    roles = [m["role"] for m in stored]
    assert roles == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    schedule_row = stored[8]
    assert schedule_row["name"] == "schedule_post" and schedule_row["approvals"][0]["status"] == "approved"


def test_without_approver_the_post_waits_and_the_agent_says_how(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    when = next_weekday(2, 9)
    _draft_then_schedule(model, when.strftime("%Y-%m-%dT%H:%M"))
    result = turn(ocma, workspace_id, "post it Wednesday 9:00", caller=API, thread="api:t1")

    post = posts.list_posts(ocma, workspace_id)[0]
    assert post.status is PostStatus.PENDING_APPROVAL and post.scheduled_at == utc(when)
    assert [t.status for t in posts.targets_of(ocma, post.id)] == [TargetStatus.DRAFT]
    approval = result.approvals[0]
    assert approval["status"] == "pending" and approval["post_id"] == post.id
    assert f"ocma posts approve {post.id}" in approval["how_to_approve"]
    # The model was told plainly.
    told = last_result(model.chat_bodies()[-1])
    assert told["status"] == "pending_approval" and "held for a person's approval" in told["policy"]
    # An approval moves it on.
    assert posts.approve_post(ocma, workspace_id, post.id).status is PostStatus.SCHEDULED


def test_policy_lets_a_caller_act_directly(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    allow_direct(ocma, workspace_id, api="editor")
    _draft_then_schedule(model, next_weekday(3, 11).strftime("%Y-%m-%dT%H:%M"))
    result = turn(ocma, workspace_id, "schedule it Thursday 11", caller=API, thread="api:t2")
    assert result.approvals == []
    post = posts.list_posts(ocma, workspace_id)[0]
    assert post.status is PostStatus.SCHEDULED
    assert "act directly" in last_result(model.chat_bodies()[-1])["policy"]
    model.script("Thursday at 11:00.")
    turn(ocma, workspace_id, "what is coming up?", caller=API, thread="api:t2")
    system = model.chat_bodies()[-1]["messages"][0]["content"]
    assert f"scheduled post {post.id}" in system and "11:00" in system


def test_a_tool_error_goes_back_to_the_model_which_recovers(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    allow_direct(ocma, workspace_id, cli="editor")
    when = next_weekday(4, 15)
    model.script(
        call("draft_post", text="Friday tips", account_ids=[account_id]),
        lambda body: call("schedule_post", post_id=last_result(body)["post_id"], when="friday afternoon"),
        lambda body: call(
            "schedule_post",
            post_id=tool_results(body)[0]["post_id"],
            when=when.strftime("%Y-%m-%dT%H:%M"),
        ),
        "Scheduled for Friday 15:00.",
    )
    result = turn(ocma, workspace_id, "Friday tips post, Friday afternoon")
    assert [c["ok"] for c in result.tool_calls] == [True, False, True]
    error = tool_results(model.chat_bodies()[2])[-1]["error"]
    assert (
        "'friday afternoon' is not a time" in error and "an ISO time" in error and "'tomorrow 09:00'" in error
    )
    assert posts.list_posts(ocma, workspace_id)[0].scheduled_at == utc(when)


def test_bad_arguments_and_unknown_tools_become_errors_the_model_reads(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    model.script(
        call("draft_post", text="no accounts given"),
        call("delete_everything"),
        "Sorry.",
    )
    result = turn(ocma, workspace_id, "do something odd")
    errors = [r["error"] for r in tool_results(model.chat_bodies()[-1])]
    assert "Invalid arguments for draft_post: account_ids: Field required" in errors[0]
    assert "Unknown tool 'delete_everything'" in errors[1] and "draft_post" in errors[1]
    assert result.ok and result.text == "Sorry."


def test_the_step_limit_stops_a_looping_model(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    update_settings(ocma, workspace_id, agent={"max_steps": 3})
    model.responder = lambda body: call("list_accounts")
    result = turn(ocma, workspace_id, "loop forever")
    assert result.stopped == "step_limit" and result.steps == 3
    assert "stopped after 3 steps" in result.text and len(model.chat_bodies()) == 3


def test_threads_persist_and_old_turns_are_summarised(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    update_settings(ocma, workspace_id, agent={"context_tokens": 1_000})
    for number in range(6):
        model.script(call("list_accounts"), f"Answer {number}: " + "x" * 900)
        turn(ocma, workspace_id, f"question {number}", thread="cli:long")
    last = model.chat_bodies()[-1]["messages"]
    # Older turns were folded into the summary; what is left starts at a user message (tool pairs intact).
    assert last[1]["role"] == "user" and "question 0" not in json.dumps(last[1:])
    assert (
        "Earlier in this conversation" in last[0]["content"]
        and "User asked: question 0" in last[0]["content"]
    )
    calls = {c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert {m["tool_call_id"] for m in last if m["role"] == "tool"} <= calls
    # Every message is still stored.
    assert len(history(ocma, workspace_id, "cli:long")) == 6 * 4


def test_without_a_key_the_turn_names_the_variables(
    ocma: Ocma, workspace_id: str, no_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCMA_MODEL", "openai/gpt-4o-mini")
    result = turn(ocma, workspace_id, "hello")
    assert result.error is not None and "No API key for openai" in result.error["message"]
    assert "OPENAI_API_KEY" in result.error["fix"] and "OCMA_MODEL_API_KEY" in result.error["fix"]


def test_without_a_model_the_turn_says_what_to_set_and_stores_nothing(
    ocma: Ocma, workspace_id: str, no_model: None
) -> None:
    events: list[AgentEvent] = []
    result = turn(ocma, workspace_id, "hello", events=events)
    assert not result.ok and result.stopped == "error"
    assert result.error is not None and "OCMA_MODEL" in result.error["fix"]
    assert events[-1].kind == "error"
    with ocma.session() as session:
        assert session.exec(select(ConversationMessage)).first() is None


def test_schedule_post_takes_the_relative_times_people_say(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    """Found by a newcomer: the agent refused 'tomorrow 09:00', which the CLI takes."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    allow_direct(ocma, workspace_id, cli="editor")
    model.script(
        call("draft_post", text="Morning news", account_ids=[account_id]),
        lambda body: call("schedule_post", post_id=last_result(body)["post_id"], when="tomorrow 09:00"),
        "Scheduled for tomorrow 09:00.",
    )
    zone = ZoneInfo("Europe/Berlin")  # the workspace's timezone
    days = {datetime.now(zone).date() + timedelta(days=1)}
    result = turn(ocma, workspace_id, "Morning news tomorrow at 9")
    days.add(datetime.now(zone).date() + timedelta(days=1))  # the turn may straddle midnight
    assert [c["ok"] for c in result.tool_calls] == [True, True]
    expected = {datetime.combine(d, datetime.min.time().replace(hour=9), tzinfo=zone) for d in days}
    assert posts.list_posts(ocma, workspace_id)[0].scheduled_at in expected
