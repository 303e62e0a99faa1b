"""Campaign planning: brief -> strategy -> plan for the period -> weekly plans -> dated pieces, each step
approved or tried again with feedback, approved pieces becoming drafts on the calendar."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_model import ScriptedModel
from agent_support import CLI, next_weekday
from ocma_agent.context import ToolContext
from ocma_agent.store import history
from ocma_agent.tools import core_tools
from ocma_agent.toolset import Toolset

from ocma_core.context import Ocma
from ocma_core.db.models import PostStatus
from ocma_core.services import posts

BRIEF = (
    "Company: Northwind Tea, an online tea shop. Product: a monthly tasting box. Objective: 300 new "
    "subscribers in April. Audience: office workers 25-40 in Germany. Voice: warm, curious."
)


def _strategy(tag: str) -> str:
    return json.dumps(
        {
            "sections": [
                {"title": "Strategic objectives", "text": f"{tag}: 300 subscribers, 2% click-through."},
                {"title": "Target audience", "text": "Office workers who want a calm break."},
                {"title": "Brand positioning", "text": "The tea ritual for busy weeks."},
                {"title": "Channel strategy", "text": "FakeSocial: short daily tips."},
            ]
        }
    )


def _run(ctx: ToolContext, name: str, **arguments: Any) -> dict[str, Any]:
    outcome = asyncio.run(Toolset(core_tools()).call(ctx, "c", name, arguments))
    assert outcome.ok, outcome.error
    assert isinstance(outcome.result, dict)
    return outcome.result


def test_campaign_steps_with_retry_and_approved_pieces_becoming_drafts(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    monday = next_weekday(0, 9).date()
    wednesday, friday = monday + timedelta(days=2), monday + timedelta(days=4)
    model.script(
        _strategy("v1"),
        _strategy("v2"),
        json.dumps(
            {
                "overview": "One focused week.",
                "pillars": ["Education & Authority Building"],
                "kpis": [{"name": "subscribers", "target": "75"}],
                "weeks": [{"week": 1, "theme": "Why tea breaks work", "goal": "awareness"}],
            }
        ),
        json.dumps(
            {
                "weeks": [
                    {
                        "week": 1,
                        "theme": "Why tea breaks work",
                        "posts": [
                            {
                                "date": wednesday.isoformat(),
                                "platform": "fakesocial",
                                "idea": "3-minute break ritual",
                            },
                            {"date": friday.isoformat(), "platform": "fakesocial", "idea": "Box unboxing"},
                        ],
                    }
                ]
            }
        ),
        json.dumps(
            {
                "pieces": [
                    {
                        "date": wednesday.isoformat(),
                        "time": "08:30",
                        "platform": "fakesocial",
                        "title": "Ritual",
                        "text": "Three minutes, one cup, a calmer afternoon. #teabreak #worklife #ritual",
                    },
                    {
                        "date": friday.isoformat(),
                        "time": "12:00",
                        "platform": "fakesocial",
                        "title": "Unboxing",
                        "text": "What is in April's tasting box? Five teas from three countries. #tea #unboxing #april",
                    },
                ]
            }
        ),
    )
    ctx = ToolContext(ocma, workspace_id, CLI, "cli:t", "Europe/Berlin", lambda: datetime.now(UTC))

    started = _run(ctx, "plan_campaign", brief=BRIEF, start_date=monday.isoformat(), weeks=1)
    campaign_id = started["campaign_id"]
    assert started["step"] == "strategy" and started["proposal"]["sections"][0]["text"].startswith("v1")
    prompt = model.chat_bodies()[0]["messages"][-1]["content"]
    assert "Northwind Tea" in prompt and "Strategic objectives" in prompt
    assert "MEASURED BASELINE: none" in prompt  # nothing measured yet: the model is told so

    retried = _run(ctx, "campaign_step", campaign_id=campaign_id, approve=False, feedback="Stress the price.")
    assert retried["attempt"] == 2 and retried["proposal"]["sections"][0]["text"].startswith("v2")
    prompt = model.chat_bodies()[1]["messages"][-1]["content"]
    assert "FEEDBACK: Stress the price." in prompt and "v1: 300 subscribers" in prompt

    period = _run(ctx, "campaign_step", campaign_id=campaign_id, approve=True)
    assert (
        period["step"] == "period_plan"
        and "APPROVED STRATEGY" in model.chat_bodies()[2]["messages"][-1]["content"]
    )
    kpi = period["proposal"]["kpis"][0]
    assert "suggested by the AI model" in kpi["target_source"] and "baseline" in period["proposal"]
    weekly = _run(ctx, "campaign_step", campaign_id=campaign_id, approve=True)
    assert weekly["step"] == "weekly_plans"
    content = _run(ctx, "campaign_step", campaign_id=campaign_id, approve=True)
    assert content["step"] == "content week 1"
    pieces = content["proposal"]["pieces"]
    assert [p["piece"] for p in pieces] == [1, 2] and all(p["ok"] and p["limit"] == 500 for p in pieces)
    assert "at most 500 characters" in model.chat_bodies()[4]["messages"][-1]["content"]

    done = _run(ctx, "campaign_step", campaign_id=campaign_id, approve=True, pieces=[2])
    assert done["step"] == "done" and len(done["drafts_created"]) == 1
    draft = posts.get_post(ocma, workspace_id, done["drafts_created"][0])
    assert draft.status is PostStatus.DRAFT and draft.body.startswith("What is in April's tasting box?")
    local = draft.scheduled_at.astimezone(ctx_zone()) if draft.scheduled_at else None
    assert local is not None and (local.date(), local.hour) == (friday, 12)
    # Every proposal and decision is on record.
    stored = history(ocma, workspace_id, f"campaign:{campaign_id}")
    assert [m.get("decision", "proposal") for m in stored] == [
        "proposal",
        "proposal",
        "approved",
        "proposal",
        "approved",
        "proposal",
        "approved",
        "proposal",
        "approved",
    ]
    assert stored[1]["feedback"] == "Stress the price." and stored[-1]["drafts"] == done["drafts_created"]


def ctx_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


def test_a_bad_answer_from_the_model_gets_one_corrective_retry(
    ocma: Ocma, workspace_id: str, account_id: str, model: ScriptedModel
) -> None:
    model.script('{"sections": []}', _strategy("fixed"))
    ctx = ToolContext(ocma, workspace_id, CLI, "cli:t", "Europe/Berlin", lambda: datetime.now(UTC))
    started = _run(
        ctx, "plan_campaign", brief=BRIEF, start_date=next_weekday(0, 9).date().isoformat(), weeks=2
    )
    assert started["proposal"]["sections"][0]["text"].startswith("fixed")
    assert "cannot be used" in model.chat_bodies()[1]["messages"][-1]["content"]
