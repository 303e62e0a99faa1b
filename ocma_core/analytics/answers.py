"""Plain answers for the agent, Slack and the scheduler, built only from stored snapshots."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ocma_core.analytics.base import make_context, now_period
from ocma_core.analytics.gcpause import gc_paused
from ocma_core.context import Ocma
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError


def performance_summary(ocma: Ocma, workspace_id: str, period: str = "last-week") -> str:
    """'How did last week's posts do?' — engagement, growth and real trends of the period, as text."""
    from ocma_core.analytics.reports import build_report, render_text

    report = build_report(ocma, workspace_id, period, only=["engagement", "growth", "trends", "experiments"])
    return render_text(report)


def _timezone(ocma: Ocma, workspace_id: str) -> str:
    from ocma_core.services.workspaces import get_workspace

    return get_workspace(ocma, workspace_id).timezone


def best_times(
    ocma: Ocma, workspace_id: str, *, platform: str | None = None, account_id: str | None = None, top: int = 3
) -> list[dict[str, Any]]:
    """Best-time results of the workspace's accounts (one platform or one account if given)."""
    from ocma_core.analytics import best_time

    ctx = make_context(ocma, workspace_id, now_period(_timezone(ocma, workspace_id)), history_text=False)
    wanted = [
        a.id
        for a in ctx.accounts.values()
        if (platform is None or a.platform == platform) and (account_id is None or a.id == account_id)
    ]
    if not wanted:
        what = f"account {account_id}" if account_id else f"{platform} account" if platform else "account"
        raise NotFoundError(
            f"No {what} in this workspace.",
            fix="Connect one first.",
            fixes={
                "cli": "Connect one with `ocma accounts connect PLATFORM` (ids: `ocma accounts list`).",
                "api": "Connect one (GET /v1/accounts/connect/{platform} or POST /v1/accounts).",
            },
        )
    ctx.prefetch("history")  # the follower series only when a rate needs it (no impressions)
    with gc_paused():
        results = best_time.analyze(
            ctx.by_account(ctx.history), ctx.platforms, ctx.timezone, top=top, account_ids=wanted
        )
        return [{"account": ctx.label(r.account_id), **r.as_dict()} for r in results]


def best_time_answer(
    ocma: Ocma, workspace_id: str, *, platform: str | None = None, account_id: str | None = None
) -> str:
    """'When should I post on LinkedIn?' as text, with the evidence and the uncertainty."""
    rows = best_times(ocma, workspace_id, platform=platform, account_id=account_id)
    lines = []
    for row in rows:
        if row["basis"] != "measured":  # no slot is better than another as far as the data show
            lines.append(f"{row['account']}: {row['message']}")
            continue
        slots = ", ".join(f"{s['label']} ({s['lift']:.2f}x, {s['posts_in_slot']} posts)" for s in row["top"])
        lines.append(f"{row['account']}: {row['message']} Top slots: {slots}.")
    return "\n".join(lines)


def next_best_time(
    ocma: Ocma, workspace_id: str, account_ids: list[str], *, after: datetime | None = None
) -> dict[str, Any]:
    """The next start of the slot measured best over the given accounts, or at=None when none is measured.

    Only accounts whose timing test found an effect (basis "measured") count; the others add nothing
    (their slots are all 1.00x). With no measured account there is no best time: `at` is None, `basis`
    says why, and callers schedule by the queue's slots or the person's choice instead.
    """
    from ocma_core.analytics import best_time

    tz = _timezone(ocma, workspace_id)
    ctx = make_context(ocma, workspace_id, now_period(tz), account_ids=account_ids, history_text=False)
    missing = set(account_ids) - set(ctx.accounts)
    if missing:
        raise NotFoundError(f"Accounts not in this workspace: {', '.join(sorted(missing))}.")
    results = best_time.analyze(
        ctx.by_account(ctx.history), ctx.platforms, tz, top=1, account_ids=account_ids
    )
    accounts = [{"account": ctx.label(r.account_id), "basis": r.basis, "message": r.message} for r in results]
    base: dict[str, Any] = {
        "timezone": tz,
        "accounts": accounts,
        "method": "the slot maximising the summed log lift of the accounts whose timing effect is measured "
        "(permutation scan test, 5%); accounts without a measured effect count as 1.00x everywhere",
    }
    measured = [r for r in results if r.measured]
    if not measured:
        basis = "too_few_posts" if all(r.basis == "too_few_posts" for r in results) else "no_measured_effect"
        return {
            **base,
            "at": None,
            "slot": None,
            "basis": basis,
            "expected_lift": None,
            "reason": best_time.BASES[basis] + "; schedule by the queue's slots or a chosen time",
        }
    combined = [
        sum(math.log(r.grid[s] or 1e-9) for r in measured) if all(r.grid[s] for r in measured) else -math.inf
        for s in range(168)
    ]
    s = max(range(168), key=lambda i: combined[i])
    return {
        **base,
        "at": best_time.next_occurrence((s // 24, s % 24), after or utcnow(), tz).isoformat(),
        "slot": f"{best_time.DAYS[s // 24]} {s % 24:02d}:00",
        "basis": "measured",
        "expected_lift": math.exp(combined[s] / len(results)),
        "reason": f"{len(measured)} of {len(results)} accounts show a measured timing effect",
    }


def baseline_metrics(
    ocma: Ocma, workspace_id: str, account_ids: list[str], *, weeks: int = 12
) -> list[dict[str, Any]]:
    """Each account's measured baseline over the last `weeks`: posts a week, median rate, latest followers."""
    import statistics
    from datetime import timedelta

    from ocma_core.analytics.data import load_posts
    from ocma_core.analytics.measures import RATE_NAMES, choose_kind, rate_of

    since = utcnow() - timedelta(weeks=weeks)
    posts = load_posts(
        ocma, workspace_id, since, None, account_ids=account_ids, basis="matured", with_text=False
    )
    out = []
    for account_id in account_ids:
        own = [p for p in posts if p.account_id == account_id]
        kind = choose_kind(own)
        rates = [r for r in (rate_of(p, kind) for p in own) if r is not None]
        followers = next((p.followers for p in reversed(own) if p.followers), None)
        out.append(
            {
                "account_id": account_id,
                "weeks": weeks,
                "measured_posts": len(own),
                "posts_per_week": round(len(own) / weeks, 2),
                "median_rate": statistics.median(rates) if rates else None,
                "rate_name": RATE_NAMES[kind],
                "median_interactions_per_post": statistics.median([p.interactions for p in own])
                if own
                else None,
                "followers": followers,
                "source": "OCMA's stored snapshots (posts measured 24 h to 8 days after publishing)",
            }
        )
    return out
