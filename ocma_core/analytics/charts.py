"""PNG charts of stored metrics (matplotlib, Agg backend, imported only when a chart is drawn)."""

from __future__ import annotations

import io
import math
from typing import Any

from ocma_core.analytics.base import AnalysisContext
from ocma_core.errors import ValidationFailed

KINDS = ("engagement", "followers", "best_times")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def render(ctx: AnalysisContext, kind: str, *, account_id: str | None = None) -> bytes:
    """One chart as PNG bytes: engagement (per-post rate), followers, or best_times (heatmap of one account)."""
    if kind == "engagement":
        return engagement_chart(ctx)
    if kind == "followers":
        return followers_chart(ctx)
    if kind == "best_times":
        return best_times_chart(ctx, account_id)
    raise ValidationFailed(f"Unknown chart {kind!r}.", fix=f"Use one of {', '.join(KINDS)}.")


def engagement_chart(ctx: AnalysisContext) -> bytes:
    """Each post's engagement rate against its publishing time, one series per account."""
    from ocma_core.analytics.measures import RATE_NAMES, choose_kind, rate_of

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    names = set()
    for account_id, posts in ctx.by_account(ctx.in_period).items():
        kind = choose_kind(posts)
        points = [(p.published_at, rate_of(p, kind)) for p in posts]
        points = [(t, r) for t, r in points if r is not None]
        if points:
            ax.plot(
                [t for t, _ in points], [r for _, r in points], "o-", label=ctx.label(account_id), alpha=0.8
            )
            names.add(RATE_NAMES[kind])
    ax.set_title(f"Engagement per post, {ctx.period.label}")
    ax.set_ylabel(" / ".join(sorted(names)) or "no measured posts")
    if names:
        ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)


def followers_chart(ctx: AnalysisContext) -> bytes:
    """Followers from account snapshots over the period."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    drawn = False
    for account_id, series in ctx.series.items():
        points = [(t, v) for t, v, _ in series.points("followers") if ctx.period.start <= t < ctx.period.end]
        if points:
            ax.plot([t for t, _ in points], [v for _, v in points], label=ctx.label(account_id))
            drawn = True
    ax.set_title(f"Followers, {ctx.period.label}")
    ax.set_ylabel("followers" if drawn else "no follower snapshots")
    if drawn:
        ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)


def best_times_chart(ctx: AnalysisContext, account_id: str | None) -> bytes:
    """Heatmap of the expected lift by weekday and hour for one account."""
    from ocma_core.analytics import best_time

    if account_id is None:
        if not ctx.accounts:
            raise ValidationFailed("No accounts in this workspace.")
        account_id = next(iter(ctx.accounts))
    if account_id not in ctx.accounts:
        raise ValidationFailed(f"Account {account_id} is not in this workspace.")
    result = best_time.analyze(
        ctx.by_account(ctx.history), ctx.platforms, ctx.timezone, account_ids=[account_id]
    )[0]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.4))
    # hours never posted in stay blank (NaN): nothing was measured there
    grid = [[math.nan if v is None else v for v in result.grid[d * 24 : (d + 1) * 24]] for d in range(7)]
    image = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_yticks(range(7), best_time.DAYS)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_title(
        f"{ctx.label(account_id)}: expected x typical {result.rate_name} by hour ({ctx.timezone}); "
        f"{result.n_posts} posts; {best_time.BASES[result.basis]}",
        fontsize=8,
    )
    fig.colorbar(image, ax=ax)
    return _png(fig)
