"""Meta's usage headers read as the engine's rate budgets (see the package's docstring)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ocma_core.platforms.types import AccountContext, RateLimitInfo

#: Usage (percent of quota) at which OCMA stops calling until Meta's usage window moves on.
USAGE_THRESHOLD = 95.0
#: How long to wait at the threshold when Meta gives no `estimated_time_to_regain_access`.
USAGE_RECHECK_S = 300.0
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-ad-account-usage", "x-business-use-case-usage")


def regain_access_at(headers: Mapping[str, str], now: datetime | None = None) -> datetime | None:
    """The latest `estimated_time_to_regain_access` (minutes) in the usage headers, as a UTC time."""
    now = now or datetime.now(UTC)
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entry in _usage_entries(headers)
        if isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    longest = max(minutes, default=0.0)
    return now + timedelta(minutes=longest) if longest > 0 else None


def _load(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _usage_entries(headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every usage reading of the headers, each a dict of percentages (plus the BUC's type and time)."""
    lower = {k.lower(): v for k, v in headers.items()}
    entries: list[dict[str, Any]] = []
    for name in USAGE_HEADERS:
        data = _load(lower.get(name))
        if name == "x-business-use-case-usage" and isinstance(data, dict):
            for owner, readings in data.items():
                for reading in readings if isinstance(readings, list) else [readings]:
                    if isinstance(reading, dict):
                        entries.append({**reading, "_header": name, "_owner": str(owner)})
        elif isinstance(data, dict):
            entries.append({**data, "_header": name})
    return entries


def usage_percent(entry: Mapping[str, Any]) -> float:
    """The highest of a reading's percentages (call count, CPU time, total time, accounts)."""
    keys = ("call_count", "total_cputime", "total_time", "acc_id_util_pct", "call_volume", "cpu_time")
    values = [float(entry[k]) for k in keys if isinstance(entry.get(k), int | float)]
    return max(values, default=0.0)


def usage_limits(
    headers: Mapping[str, str], bucket: str = "graph", now: datetime | None = None
) -> list[RateLimitInfo]:
    """The usage headers as at most one reading per scope: `app` (X-App-Usage) and `account` (the Page's and
    the business use case's), each the most used of its kind.

    `limit` is 100 (percent); `remaining` is the percentage points left below USAGE_THRESHOLD, so 0 at 95%
    and above; `reset_at` is Meta's `estimated_time_to_regain_access` when given, else USAGE_RECHECK_S ahead.
    """
    now = now or datetime.now(UTC)
    worst: dict[str, tuple[float, dict[str, Any]]] = {}
    for entry in _usage_entries(headers):
        scope = "app" if entry["_header"] == "x-app-usage" else "account"
        pct = usage_percent(entry)
        if scope not in worst or pct > worst[scope][0]:
            worst[scope] = (pct, entry)
    regain = regain_access_at(headers, now)
    infos: list[RateLimitInfo] = []
    for scope, (pct, entry) in sorted(worst.items()):
        remaining = max(0, int(USAGE_THRESHOLD - pct))
        minutes = entry.get("estimated_time_to_regain_access")
        own = (
            now + timedelta(minutes=float(minutes)) if isinstance(minutes, int | float) and minutes else None
        )
        reset = own or (regain if remaining == 0 and scope == "account" else None)
        reset = reset or now + timedelta(seconds=USAGE_RECHECK_S)
        infos.append(
            RateLimitInfo(scope=scope, bucket=bucket, limit=100, remaining=remaining, reset_at=reset)
        )
    return infos


def record_readings(ctx: AccountContext, readings: list[RateLimitInfo]) -> None:
    """Add rate readings to `ctx` keeping one per scope, the most constraining (fewest remaining; the later
    on a tie): the engine takes one reading per scope from a call, and a quota read before publishing (e.g.
    Instagram's `content_publishing_limit`) must not be hidden by the usage headers of the next answer."""
    kept: list[RateLimitInfo] = ctx.settings.setdefault("_rate_limits", [])
    for new in readings:
        old = next((i for i in kept if i.scope == new.scope), None)
        if (
            old is not None
            and old.remaining is not None
            and (new.remaining is None or old.remaining < new.remaining)
        ):
            continue
        if old is not None:
            kept.remove(old)
        kept.append(new)
