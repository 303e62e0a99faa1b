"""Pin and account metrics: pin analytics (last 90 days), lifetime pin_metrics, account analytics, followers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocma_core import AccountContext, MetricsSnapshot

if TYPE_CHECKING:
    from ocma_pinterest.platform import PinterestPlatform

PIN_METRICS = ("IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK")
ACCOUNT_METRICS = ("IMPRESSION", "ENGAGEMENT", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK")
ACCOUNT_FIELDS = ("follower_count", "following_count", "pin_count", "board_count", "monthly_views")
PIN_WINDOW_DAYS = 89  # pins/analytics reaches 90 days back (today included)
ACCOUNT_WINDOW_DAYS = 29
NOTE = (
    "Pinterest's analytics: {window} (UTC days, today included); the newest days may still be processing. "
    "Lifetime figures come from the pin's pin_metrics."
)


def numbers(block: Any, prefix: str = "") -> dict[str, float]:
    """The numeric values of a metrics object, lower-cased and prefixed."""
    if not isinstance(block, dict):
        return {}
    return {
        f"{prefix}{str(k).lower()}": float(v)
        for k, v in block.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def summary(body: dict[str, Any]) -> dict[str, Any]:
    """The metrics of the "ALL" app type (the answer is keyed by app type; the key's case is not documented)."""
    for key in ("all", "ALL"):
        if isinstance(body.get(key), dict):
            return dict(body[key])
    return next((dict(v) for v in body.values() if isinstance(v, dict)), {})


def window(days: int, today: date | None = None) -> dict[str, str]:
    """start_date / end_date covering the last `days` + 1 days."""
    end = today or datetime.now(UTC).date()
    return {"start_date": (end - timedelta(days=days)).isoformat(), "end_date": end.isoformat()}


async def pin(platform: PinterestPlatform, ctx: AccountContext, pin_id: str) -> MetricsSnapshot:
    """Impressions, saves, pin and outbound clicks of the last 90 days, plus the lifetime pin_metrics."""
    params = {
        **window(PIN_WINDOW_DAYS),
        "metric_types": ",".join(PIN_METRICS),
        "app_types": "ALL",
        "split_field": "NO_SPLIT",
    }
    body = await platform.call(ctx, "GET", f"/pins/{pin_id}/analytics", "org_analytics", params=params)
    block = summary(body)
    values = numbers(block.get("summary_metrics"))
    values.update(numbers(block.get("lifetime_metrics"), "lifetime."))
    details = await platform.call(ctx, "GET", f"/pins/{pin_id}", "org_read", params={"pin_metrics": "true"})
    lifetime = (details.get("pin_metrics") or {}).get("lifetime_metrics")
    values.update(numbers(lifetime, "lifetime."))
    unavailable = tuple(m.lower() for m in PIN_METRICS if m.lower() not in values)
    return MetricsSnapshot(
        values=values,
        fetched_at=datetime.now(UTC),
        unavailable=unavailable,
        note=NOTE.format(window=f"{PIN_WINDOW_DAYS + 1} days"),
    )


async def account(platform: PinterestPlatform, ctx: AccountContext) -> MetricsSnapshot:
    """Followers and counts (GET /user_account) and the last 30 days of account analytics."""
    user = await platform.call(ctx, "GET", "/user_account", "org_read")
    values = {name: float(user[name]) for name in ACCOUNT_FIELDS if isinstance(user.get(name), int)}
    params = {**window(ACCOUNT_WINDOW_DAYS), "metric_types": ",".join(ACCOUNT_METRICS)}
    body = await platform.call(ctx, "GET", "/user_account/analytics", "org_analytics", params=params)
    values.update(numbers(summary(body).get("summary_metrics"), "30d."))
    wanted = [*ACCOUNT_FIELDS, *(f"30d.{m.lower()}" for m in ACCOUNT_METRICS)]
    return MetricsSnapshot(
        values=values,
        fetched_at=datetime.now(UTC),
        unavailable=tuple(name for name in wanted if name not in values),
        note=NOTE.format(window=f"account analytics over {ACCOUNT_WINDOW_DAYS + 1} days"),
    )
