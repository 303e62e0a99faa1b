"""The agent's final text may not claim an action its tools did not report.

After a turn, each claim of a done action in the reply ("I published it", "it is scheduled", "deleted") is
checked against the tool outcomes of the turn; a claim no successful tool call backs gets a correction note
appended, and every surface shows the tool outcomes beside the reply (`outcomes_line`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# "I have published it", "it is now scheduled", or a sentence that starts with the verb ("Published.").
_SAID = (
    r"(?:\b(?:i(?:'ve| have)?|it(?:'s| is| has been| was)|they(?:'re| are| have been| were)|has been|"
    r"have been|was|were|is now|are now|now)\s+(?:now\s+|been\s+|also\s+|successfully\s+)*"
    r"|(?:^|(?<=[.!?:\n]))\s*(?:done\W+)?)"
)


def _said(verbs: str) -> re.Pattern[str]:
    return re.compile(_SAID + f"(?:{verbs})\\b", re.IGNORECASE)


# What the reply may say was done: (how it is said, tools that do it, statuses that back it; empty = any).
_CLAIMS: dict[str, tuple[re.Pattern[str], frozenset[str], frozenset[str]]] = {
    "published": (
        _said("published|posted|live"),
        frozenset({"publish_now", "retry_post", "schedule_post"}),
        frozenset({"publishing", "published", "partially_published", "scheduled"}),
    ),
    "scheduled": (
        _said("scheduled|queued|re-?scheduled"),
        frozenset({"schedule_post", "publish_now", "retry_post"}),
        frozenset({"scheduled", "publishing", "published"}),
    ),
    "deleted": (_said("deleted|removed|taken down"), frozenset({"delete_published_post"}), frozenset()),
    "cancelled": (_said("cancell?ed"), frozenset({"cancel_post"}), frozenset()),
}


def _backed(claim: str, outcomes: Sequence[dict[str, Any]]) -> bool:
    _, tools, statuses = _CLAIMS[claim]
    for outcome in outcomes:
        if outcome.get("name") not in tools or not outcome.get("ok"):
            continue
        status = str(outcome.get("status") or "")
        if not statuses or status in statuses:
            return True
    return False


def unbacked_claims(text: str, outcomes: Sequence[dict[str, Any]]) -> list[str]:
    """The done-actions the reply claims (published, scheduled, deleted, cancelled) that no successful tool
    call of this turn reported."""
    return [
        claim
        for claim, (pattern, _, _) in _CLAIMS.items()
        if pattern.search(text or "") and not _backed(claim, outcomes)
    ]


def correction(claims: Sequence[str], outcomes: Sequence[dict[str, Any]]) -> str:
    """The note appended to a reply that claims what the tools did not report."""
    said = ", ".join(claims)
    return (
        f"\n\n(OCMA check: no tool reported that anything was {said} in this turn, so it was not. "
        f"What the tools did: {outcomes_line(outcomes) or 'nothing'}.)"
    )


def outcomes_line(outcomes: Sequence[dict[str, Any]]) -> str:
    """The tool outcomes of a turn in one line, e.g. `draft_post ok (post_id=p1, status=draft); publish_now
    refused`, shown beside the agent's reply."""
    parts = []
    for outcome in outcomes:
        if outcome.get("ok"):
            detail = str(outcome.get("summary") or "")
            parts.append(f"{outcome.get('name')} ok" + (f" ({detail})" if detail and detail != "ok" else ""))
        else:
            parts.append(f"{outcome.get('name')} refused or failed")
    return "; ".join(parts)
