"""The JSON a click delivery carries (docs/clicks.md), checked field by field: every problem is named by its
path (`events[3].occurred_at`) and nothing of a delivery is stored unless all of it is valid.

    {"events": [{"url": "https://shop.example/sale?utm_campaign=spring&utm_content=<OCMA post id>",
                 "occurred_at": "2026-12-03T10:15:00Z", "count": 3}]}

`utm_source`, `utm_medium`, `utm_campaign` and `utm_content` may be given as fields; a field left out is
read from the url's query string. `post_id` (optional) names the OCMA post the click belongs to."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ocma_core.db.types import utcnow

MAX_EVENTS = 1000
MAX_URL = 2048
MAX_UTM = 100
MAX_COUNT = 1_000_000
FUTURE_SLACK = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
FIELDS = {"url", "occurred_at", "count", "post_id", *UTM_FIELDS}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_POST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_PROBLEMS_SHOWN = 20


class Invalid(Exception):
    """A delivery that is not a valid batch of clicks: each problem as "path: what is wrong"."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        super().__init__(text)
        self.problems, self.message = problems, f"Invalid click delivery (nothing stored): {text}."


@dataclass(frozen=True)
class Click:
    """One validated click event (UTM values "" when not given, count >= 1)."""

    url: str
    occurred_at: datetime
    count: int
    post_id: str | None
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str


def parse(body: bytes, now: datetime | None = None) -> list[Click]:
    """The delivery's click events, or Invalid naming every problem."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid(["body: is not JSON (UTF-8)"]) from None
    if not isinstance(data, dict):
        raise Invalid(["body: must be a JSON object with an `events` array"])
    problems = [f"{key}: is not a field (the body has only `events`)" for key in data if key != "events"]
    events = data.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        problems.append(f"events: must be an array of 1 to {MAX_EVENTS} click events")
        raise Invalid(problems)
    clicks: list[Click] = []
    for index, event in enumerate(events):
        click = _event(event, f"events[{index}]", problems, now or utcnow())
        if click is not None:
            clicks.append(click)
    if problems:
        raise Invalid(problems)
    return clicks


def _event(raw: Any, where: str, problems: list[str], now: datetime) -> Click | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with url and occurred_at")
        return None
    before = len(problems)
    problems += [f"{where}.{_shown(k)}: is not a field" for k in raw if k not in FIELDS]
    url = _url(raw.get("url"), f"{where}.url", problems)
    occurred = _time(raw.get("occurred_at"), f"{where}.occurred_at", problems, now)
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        problems.append(f"{where}.count: must be a whole number from 1 to {MAX_COUNT}")
    post_id = raw.get("post_id")
    if post_id is not None and (not isinstance(post_id, str) or not _POST_ID.match(post_id)):
        problems.append(f"{where}.post_id: must be an OCMA post id (letters, digits, - and _, 1 to 64)")
    query = parse_qs(urlsplit(url).query) if url else {}
    utm = {name: _utm(raw, query, name, where, problems) for name in UTM_FIELDS}
    if len(problems) > before or url is None or occurred is None:
        return None
    return Click(url, occurred, int(count), post_id, **utm)


def _shown(key: str) -> str:
    return _CONTROL.sub("?", key[:40])


def _url(raw: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(raw, str) or not raw:
        problems.append(f"{where}: is required, the clicked link (http or https)")
        return None
    if len(raw) > MAX_URL or _CONTROL.search(raw) or " " in raw:
        problems.append(
            f"{where}: must be at most {MAX_URL} characters, without spaces or control characters"
        )
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        problems.append(f"{where}: must be an absolute http or https URL")
        return None
    return raw


def _time(raw: Any, where: str, problems: list[str], now: datetime) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 40:
        problems.append(f"{where}: is required, an ISO 8601 time with its offset (2026-12-03T10:15:00Z)")
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        problems.append(f"{where}: is not an ISO 8601 time (2026-12-03T10:15:00Z)")
        return None
    if value.tzinfo is None:
        problems.append(f"{where}: has no offset; add Z for UTC or +hh:mm")
        return None
    if value < EARLIEST or value > now + FUTURE_SLACK:
        problems.append(f"{where}: must be after 2000-01-01 and not in the future")
        return None
    return value.astimezone(UTC)


def _utm(raw: dict[str, Any], query: dict[str, list[str]], name: str, where: str, problems: list[str]) -> str:
    if name in raw and raw[name] is not None:
        value, path = raw[name], f"{where}.{name}"
    elif query.get(name):
        value, path = query[name][0], f"{where}.url ({name})"
    else:
        return ""
    if not isinstance(value, str) or len(value.strip()) > MAX_UTM or _CONTROL.search(value):
        problems.append(f"{path}: must be text of at most {MAX_UTM} characters without control characters")
        return ""
    return value.strip()
