"""Campaign planning, the original product's flagship: business brief -> strategy -> plan for the period ->
weekly plans -> dated content pieces, week by week. Every step is shown for approval or another try (with
feedback); approved pieces become drafts on the calendar at their dates.

A campaign is stored as a conversation with thread key `campaign:<id>`: its state (JSON) in the summary and
every proposal and decision as a message, so the whole history stays auditable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from ocma_agent import store
from ocma_core.app import Ocma
from ocma_core.app.models import Account, Conversation
from ocma_core.errors import NotFoundError, ValidationFailed

STAGES = ("strategy", "period_plan", "weekly_plans", "content", "done")
THEMES = (
    "Education & Authority Building; Community Engagement & Behind-the-Scenes; Value-Driven Product Focus; "
    "Social Proof & Customer Success"
)
TEAM = "Work as a strategy firm, a creative director and a social media marketer reviewing each other's work."


@dataclass
class Campaign:
    """The state of one campaign plan."""

    id: str
    brief: str
    start: str
    weeks: int
    account_ids: list[str]
    platforms: list[str]
    stage: str = "strategy"
    week: int = 1
    attempt: int = 1
    proposal: dict[str, Any] = field(default_factory=dict)
    approved: dict[str, Any] = field(default_factory=dict)
    drafts: list[str] = field(default_factory=list)

    def week_dates(self, week: int) -> tuple[date, date]:
        """First and last day of campaign week `week` (1-based)."""
        first = date.fromisoformat(self.start) + timedelta(days=7 * (week - 1))
        return first, first + timedelta(days=6)


def _thread_key(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def save(ocma: Ocma, workspace_id: str, campaign: Campaign, event: dict[str, Any]) -> None:
    """Store the state and append the event (a proposal or a decision)."""
    thread = store.open_thread(ocma, workspace_id, _thread_key(campaign.id))
    store.append(ocma, thread, [("campaign", event)])
    with ocma.session() as session:
        row = session.get(Conversation, thread.id)
        if row is not None:
            row.summary = json.dumps(asdict(campaign), ensure_ascii=False)
            session.add(row)


def load(ocma: Ocma, workspace_id: str, campaign_id: str) -> Campaign:
    """A campaign of this workspace."""
    with ocma.session() as session:
        row = session.exec(
            select(Conversation).where(
                Conversation.workspace_id == workspace_id, Conversation.thread_key == _thread_key(campaign_id)
            )
        ).first()
    if row is None or not row.summary:
        raise NotFoundError(f"No campaign {campaign_id!r}.", fix="Start one with plan_campaign.")
    return Campaign(**json.loads(row.summary))


def campaign_accounts(ocma: Ocma, workspace_id: str, account_ids: list[str]) -> list[Account]:
    """The chosen accounts (all connected accounts when none are chosen)."""
    with ocma.session() as session:
        accounts = list(session.exec(select(Account).where(Account.workspace_id == workspace_id)))
    chosen = [a for a in accounts if a.id in account_ids] if account_ids else accounts
    unknown = set(account_ids) - {a.id for a in accounts}
    if unknown:
        raise NotFoundError(f"Unknown account(s): {', '.join(sorted(unknown))}.", fix="Call list_accounts.")
    if not chosen:
        raise ValidationFailed("No accounts to plan for.", fix="Connect an account first.")
    return chosen


def _rules(platforms: list[str]) -> str:
    from ocma_core.app.content import platforms_named, rules

    return "\n".join(f"- {p.name}: {rules(p)}" for p in platforms_named(platforms))


def _feedback(campaign: Campaign, feedback: str) -> str:
    if not feedback.strip():
        return ""
    previous = json.dumps(campaign.proposal, ensure_ascii=False)[:3000]
    return f"\nThe previous version was not approved.\nPREVIOUS VERSION: {previous}\nFEEDBACK: {feedback.strip()}\n"


def _context(campaign: Campaign) -> str:
    parts = [
        f"BUSINESS BRIEF:\n{campaign.brief}",
        f"CAMPAIGN: {campaign.weeks} weeks starting {campaign.start}, on {', '.join(campaign.platforms)}.",
    ]
    for stage in ("strategy", "period_plan", "weekly_plans"):
        if stage in campaign.approved:
            parts.append(
                f"APPROVED {stage.upper()}:\n{json.dumps(campaign.approved[stage], ensure_ascii=False)}"
            )
    return "\n\n".join(parts)


def baseline_text(baseline: list[dict[str, Any]]) -> str:
    """The measured baseline as prompt text (or a plain statement that there is none)."""
    rows = [b for b in baseline if b.get("measured_posts")]
    if not rows:
        return (
            "MEASURED BASELINE: none (no measured posts on these accounts yet). Any target is a guess: "
            "say so, and prefer targets about activity (posts published) over results."
        )
    lines = [
        f"- account {b['account_id']}: {b['measured_posts']} measured posts in the last {b['weeks']} weeks "
        f"({b['posts_per_week']} a week), median {b['median_interactions_per_post']:.0f} interactions per post"
        + (f", median {b['median_rate']:.4f} {b['rate_name']}" if b["median_rate"] is not None else "")
        + (f", {b['followers']:.0f} followers" if b.get("followers") else "")
        for b in rows
    ]
    return "MEASURED BASELINE (OCMA's stored metrics; set targets relative to it):\n" + "\n".join(lines)


def mark_targets(data: dict[str, Any], baseline: list[dict[str, Any]]) -> dict[str, Any]:
    """Label every KPI target as the model's suggestion and attach the measured baseline beside them."""
    for kpi in data.get("kpis", []):
        if isinstance(kpi, dict):
            kpi["target_source"] = "suggested by the AI model from the baseline below, not a measurement"
    data["baseline"] = baseline
    return data


def task(campaign: Campaign, feedback: str, baseline: str = "") -> tuple[str, Any]:
    """The prompt for the campaign's current stage and the check its JSON answer must pass."""
    measured = f"\n{baseline}\n" if baseline else ""
    head = f"{_context(campaign)}\n{measured}{_feedback(campaign, feedback)}\n{TEAM}\nCURRENT TASK: "
    if campaign.stage == "strategy":
        return head + (
            "Write the campaign strategy in four sections: Strategic objectives (measurable, with targets), "
            "Target audience, Brand positioning, Channel strategy (a paragraph per platform). Prose, no "
            'markdown. Answer with JSON: {"sections": [{"title": "...", "text": "..."}]}'
        ), _check_sections
    if campaign.stage == "period_plan":
        return head + (
            f"Plan the whole period: an overview, content pillars (use these themes where they fit: {THEMES}), "
            f"KPIs each with its measured baseline (from MEASURED BASELINE, or 'none measured') and a target, "
            f"and a theme and goal for each of the {campaign.weeks} weeks. Answer with JSON: "
            '{"overview": "...", "pillars": ["..."], "kpis": [{"name": "...", "baseline": "...", "target": "..."}], '
            '"weeks": [{"week": 1, "theme": "...", "goal": "..."}]}'
        ), _check_period(campaign.weeks)
    if campaign.stage == "weekly_plans":
        spans = "; ".join(
            f"week {w}: {a} to {b}" for w in range(1, campaign.weeks + 1) for a, b in [campaign.week_dates(w)]
        )
        return head + (
            f"Write a plan for each week ({spans}): its theme and 2 to 4 post ideas, each with a date inside "
            f"the week and one of the platforms ({', '.join(campaign.platforms)}). Answer with JSON: "
            '{"weeks": [{"week": 1, "theme": "...", "posts": [{"date": "YYYY-MM-DD", "platform": "...", '
            '"idea": "..."}]}]}'
        ), _check_weeks(campaign)
    first, last = campaign.week_dates(campaign.week)
    return head + (
        f"Write the posts of week {campaign.week} ({first} to {last}) from its plan, ready to publish: for "
        f"each, the date, a local posting time, the platform, a short title and the full text (hook, body, "
        f"call to action, 3 to 5 hashtags where the platform uses them). Platform rules:\n"
        f"{_rules(campaign.platforms)}\n"
        'Answer with JSON: {"pieces": [{"date": "YYYY-MM-DD", "time": "HH:MM", "platform": "...", '
        '"title": "...", "text": "..."}]}'
    ), _check_pieces(campaign)


def _check_sections(data: dict[str, Any]) -> None:
    sections = data.get("sections")
    if not isinstance(sections, list) or len(sections) < 2:
        raise ValueError('"sections" must list the strategy sections')
    for item in sections:
        if (
            not isinstance(item, dict)
            or not str(item.get("title", "")).strip()
            or not str(item.get("text", "")).strip()
        ):
            raise ValueError('each section needs a non-empty "title" and "text"')


def _check_period(weeks: int) -> Any:
    def check(data: dict[str, Any]) -> None:
        if not str(data.get("overview", "")).strip():
            raise ValueError('"overview" must be a non-empty string')
        listed = data.get("weeks")
        if not isinstance(listed, list) or len(listed) != weeks:
            raise ValueError(f'"weeks" must list exactly {weeks} weeks')

    return check


def _check_weeks(campaign: Campaign) -> Any:
    def check(data: dict[str, Any]) -> None:
        listed = data.get("weeks")
        if not isinstance(listed, list) or len(listed) != campaign.weeks:
            raise ValueError(f'"weeks" must list exactly {campaign.weeks} weeks')
        for number, week in enumerate(listed, start=1):
            first, last = campaign.week_dates(number)
            for post in week.get("posts") or []:
                _check_day(post.get("date"), first, last, f"week {number}")
                if post.get("platform") not in campaign.platforms:
                    raise ValueError(f"platform must be one of {', '.join(campaign.platforms)}")

    return check


def _check_day(value: Any, first: date, last: date, where: str) -> date:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None
    if not first <= day <= last:
        raise ValueError(f"{where}: {day} is outside {first} to {last}")
    return day


def _check_pieces(campaign: Campaign) -> Any:
    first, last = campaign.week_dates(campaign.week)

    def check(data: dict[str, Any]) -> None:
        pieces = data.get("pieces")
        if not isinstance(pieces, list) or not pieces:
            raise ValueError('"pieces" must list the posts')
        for piece in pieces:
            _check_day(piece.get("date"), first, last, f"week {campaign.week}")
            time.fromisoformat(str(piece.get("time", "09:00")))
            if piece.get("platform") not in campaign.platforms:
                raise ValueError(f"platform must be one of {', '.join(campaign.platforms)}")
            if not str(piece.get("text", "")).strip():
                raise ValueError('each piece needs its "text"')

    return check


def checked_pieces(pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each piece with its platform's verdict (length, limit, problems), numbered from 1."""
    from ocma_core.app.accounts import get_platform
    from ocma_core.app.content import check

    out = []
    for number, piece in enumerate(pieces, start=1):
        verdict = check(get_platform(piece["platform"]), piece["text"])
        out.append(
            {
                "piece": number,
                **piece,
                "length": verdict.length,
                "limit": verdict.limit,
                "ok": verdict.ok,
                **({"problems": [p["message"] for p in verdict.problems]} if verdict.problems else {}),
            }
        )
    return out


def piece_time(piece: dict[str, Any], timezone: str) -> datetime:
    """The planned local date and time of a piece, as an aware datetime."""
    day = date.fromisoformat(piece["date"])
    at = time.fromisoformat(str(piece.get("time") or "09:00"))
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone))


def advance(campaign: Campaign) -> None:
    """Move to the next stage (or the next week of content) after an approval."""
    if campaign.stage == "content" and campaign.week < campaign.weeks:
        campaign.week += 1
    else:
        campaign.stage = STAGES[STAGES.index(campaign.stage) + 1]
    campaign.attempt, campaign.proposal = 1, {}
