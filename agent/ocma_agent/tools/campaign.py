"""The campaign tools: start a plan from a business brief, then approve or retry each step."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from ocma_agent import campaigns
from ocma_agent.context import ToolContext
from ocma_core.app.posts import PostInput
from ocma_core.errors import ConflictError, ValidationFailed

NEXT = (
    "Show this step to the user and ask: approve it, or try again with feedback? Then call campaign_step "
    "with approve=true, or approve=false and their feedback."
)


async def _propose(ctx: ToolContext, campaign: campaigns.Campaign, feedback: str = "") -> dict[str, Any]:
    from ocma_core.app.analytics import baseline_metrics
    from ocma_core.app.content import Session

    baseline: list[dict[str, Any]] = []
    if campaign.stage in ("strategy", "period_plan"):  # targets are set here: give the real baseline
        baseline = await asyncio.to_thread(baseline_metrics, ctx.ocma, ctx.workspace_id, campaign.account_ids)
    text = campaigns.baseline_text(baseline) if campaign.stage in ("strategy", "period_plan") else ""
    prompt, check = campaigns.task(campaign, feedback, text)
    session = await asyncio.to_thread(Session.open, ctx.ocma, ctx.workspace_id)
    data = await session.ask_json(prompt, check, max_tokens=3000)
    if campaign.stage == "period_plan":
        data = campaigns.mark_targets(data, baseline)
    if campaign.stage == "content":
        data = {"pieces": await asyncio.to_thread(campaigns.checked_pieces, data["pieces"])}
    campaign.proposal = data
    event = {
        "stage": campaign.stage,
        "week": campaign.week,
        "attempt": campaign.attempt,
        "proposal": data,
        "feedback": feedback,
        "by": ctx.caller.label(),
        "ai": session.summary(),
    }
    await asyncio.to_thread(campaigns.save, ctx.ocma, ctx.workspace_id, campaign, event)
    return _view(campaign, NEXT)


def _view(campaign: campaigns.Campaign, next_step: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "campaign_id": campaign.id,
        "step": campaign.stage if campaign.stage != "content" else f"content week {campaign.week}",
        "attempt": campaign.attempt,
        "proposal": campaign.proposal,
        "next": next_step,
    }
    if campaign.drafts:
        view["drafts_created"] = campaign.drafts
    return view


async def plan_campaign(
    ctx: ToolContext, brief: str, start_date: str, weeks: int = 4, account_ids: list[str] | None = None
) -> dict[str, Any]:
    """Start planning a campaign: returns the proposed strategy for approval. Steps that follow: plan for
    the period, weekly plans, then each week's dated posts, which become drafts on the calendar.

    Args:
        brief: Company, product or service, objectives, audience, markets, budget, selling points,
            competitors, brand personality, key metrics: all the user told you.
        start_date: First day, YYYY-MM-DD.
        weeks: Length in weeks (1-8).
        account_ids: Accounts to plan for (default: all connected).
    """
    if not 1 <= weeks <= 8:
        raise ValidationFailed("weeks must be between 1 and 8.")
    if len(brief.strip()) < 20:
        raise ValidationFailed(
            "The brief is too short.", fix="Ask the user about company, goals and audience."
        )
    try:
        start = date.fromisoformat(start_date)
    except ValueError:
        raise ValidationFailed(f"{start_date!r} is not a date.", fix="Use YYYY-MM-DD.") from None
    accounts = await asyncio.to_thread(
        campaigns.campaign_accounts, ctx.ocma, ctx.workspace_id, account_ids or []
    )
    campaign = campaigns.Campaign(
        id=uuid.uuid4().hex[:12],
        brief=brief.strip(),
        start=start.isoformat(),
        weeks=weeks,
        account_ids=[a.id for a in accounts],
        platforms=sorted({a.platform for a in accounts}),
    )
    return await _propose(ctx, campaign)


async def campaign_step(
    ctx: ToolContext, campaign_id: str, approve: bool, feedback: str = "", pieces: list[int] | None = None
) -> dict[str, Any]:
    """Approve the campaign's current step (and get the next), or ask for another version with feedback.

    Args:
        campaign_id: The campaign.
        approve: true to accept the step, false for another try.
        feedback: What to change (for another try).
        pieces: For a week's posts: the piece numbers to keep (default: all); they become drafts.
    """
    campaign = await asyncio.to_thread(campaigns.load, ctx.ocma, ctx.workspace_id, campaign_id)
    if campaign.stage == "done":
        raise ConflictError("The campaign plan is complete.", fix="Schedule its drafts with schedule_post.")
    if not approve:
        campaign.attempt += 1
        return await _propose(ctx, campaign, feedback or "Try a different approach.")
    decision = {
        "stage": campaign.stage,
        "week": campaign.week,
        "decision": "approved",
        "by": ctx.caller.label(),
    }
    if campaign.stage == "content":
        chosen = [p for p in campaign.proposal.get("pieces", []) if pieces is None or p["piece"] in pieces]
        created = await asyncio.to_thread(_make_drafts, ctx, campaign, chosen)
        campaign.drafts.extend(created)
        campaign.approved.setdefault("content", {})[str(campaign.week)] = chosen
        decision["drafts"] = created
    else:
        campaign.approved[campaign.stage] = campaign.proposal
    campaigns.advance(campaign)
    await asyncio.to_thread(campaigns.save, ctx.ocma, ctx.workspace_id, campaign, decision)
    if campaign.stage == "done":
        return _view(
            campaign, "The plan is complete: its posts are drafts on the calendar. Offer to schedule them."
        )
    return await _propose(ctx, campaign)


def _make_drafts(ctx: ToolContext, campaign: campaigns.Campaign, pieces: list[dict[str, Any]]) -> list[str]:
    from ocma_core.app.calendar import plan_draft

    accounts = campaigns.campaign_accounts(ctx.ocma, ctx.workspace_id, campaign.account_ids)
    created = []
    for piece in pieces:
        ids = [a.id for a in accounts if a.platform == piece["platform"]]
        if not ids:
            continue
        data = PostInput(body=piece["text"], account_ids=ids, action="draft")
        when = campaigns.piece_time(piece, ctx.timezone)
        post = plan_draft(
            ctx.ocma,
            ctx.workspace_id,
            data,
            when,
            created_by=f"campaign:{campaign.id}",
            untrusted=ctx.written_from(),
        )
        created.append(post.id)
    return created
