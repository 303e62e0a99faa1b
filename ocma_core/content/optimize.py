"""Optimise a post for an objective, with alternative versions usable as A/B variants; every version is
validated by the platform plugin and compared with the original by our own code."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ocma_core.content.adapt import MAX_REPAIRS, repair
from ocma_core.content.drafts import Draft, check, label, rules
from ocma_core.content.llm import Session, require_text
from ocma_core.content.measures import emojis, hashtags, links, mentions
from ocma_core.context import Ocma
from ocma_core.errors import ValidationFailed
from ocma_core.platforms import Platform
from ocma_core.registry import get_platform

OBJECTIVES = ("engagement", "reach", "clicks", "awareness")


@dataclass
class Version:
    """One optimised version: "optimized" or an A/B variant id (A, B, C...)."""

    variant: str
    label: str
    rationale: str
    draft: Draft
    changes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "variant": self.variant,
            "label": self.label,
            "rationale": self.rationale,
            "draft": self.draft.as_dict(),
            "changes": self.changes,
        }


@dataclass
class Optimized:
    """The original, the optimised version and the alternatives."""

    platform: str
    objective: str
    original: Draft
    versions: list[Version]
    ai: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "platform": self.platform,
            "objective": self.objective,
            "original": self.original.as_dict(),
            "versions": [v.as_dict() for v in self.versions],
            "ai": self.ai,
        }


def changes(platform: Platform, before: str, after: str) -> dict[str, Any]:
    """What changed between two texts, measured by our code."""
    count = platform.limits.text.count
    old_tags, new_tags = hashtags(before), hashtags(after)
    lowered = after.lower()
    return {
        "length_change": count(after) - count(before),
        "hashtags_added": [t for t in new_tags if t.lower() not in {o.lower() for o in old_tags}],
        "hashtags_removed": [t for t in old_tags if t.lower() not in {n.lower() for n in new_tags}],
        "links_missing": [link for link in links(before) if link.lower() not in lowered],
        "mentions_missing": [m for m in mentions(before) if m.lower() not in lowered],
        "emoji_change": emojis(after) - emojis(before),
        "how": f"computed by OCMA comparing the texts; lengths as {label(platform)} counts them",
    }


def _check_answer(count: int) -> Any:
    def check_answer(data: dict[str, Any]) -> None:
        best = data.get("optimized")
        if not isinstance(best, dict):
            raise ValueError('"optimized" must be an object with "text"')
        require_text(best.get("text"), "optimized.text")
        alternatives = data.get("alternatives")
        if not isinstance(alternatives, list) or len(alternatives) < count:
            raise ValueError(f'"alternatives" must be a list of {count} objects')
        for index, alt in enumerate(alternatives[:count]):
            if not isinstance(alt, dict):
                raise ValueError(f"alternatives[{index}] must be an object")
            require_text(alt.get("text"), f"alternatives[{index}].text")

    return check_answer


async def optimize(
    ocma: Ocma,
    workspace_id: str,
    text: str,
    platform_name: str,
    objective: str,
    *,
    alternatives: int = 3,
    max_repairs: int = MAX_REPAIRS,
) -> Optimized:
    """Rewrite `text` for `objective` on one platform, plus `alternatives` A/B variants."""
    if objective not in OBJECTIVES:
        raise ValidationFailed(
            f"Unknown objective {objective!r}.", fix=f"Use one of: {', '.join(OBJECTIVES)}."
        )
    if not text.strip():
        raise ValidationFailed("There is no text to optimise.")
    if not 0 <= alternatives <= 5:
        raise ValidationFailed("alternatives must be between 0 and 5.")
    platform = get_platform(platform_name.strip().lower())
    session = Session.open(ocma, workspace_id)
    guidance = session.prompt(f"objective/{objective}").render().strip()
    user = session.prompt("optimize").render(
        platform_label=label(platform),
        objective=objective,
        objective_guidance=guidance,
        text=text.strip(),
        rules=rules(platform),
        alternatives=alternatives,
    )
    data = await session.ask_json(user, _check_answer(alternatives), max_tokens=3000)
    picked = [("optimized", "Optimized", data["optimized"])]
    picked += [
        (chr(ord("A") + i), str(alt.get("label") or f"Variant {chr(ord('A') + i)}"), alt)
        for i, alt in enumerate(data["alternatives"][:alternatives])
    ]
    drafts = await asyncio.gather(
        *(repair(session, platform, check(platform, entry["text"]), max_repairs) for _, _, entry in picked)
    )
    versions = [
        Version(
            variant=variant,
            label=name,
            rationale=str(entry.get("rationale") or ""),
            draft=draft,
            changes=changes(platform, text, draft.text),
        )
        for (variant, name, entry), draft in zip(picked, drafts, strict=True)
    ]
    return Optimized(
        platform=platform.name,
        objective=objective,
        original=check(platform, text),
        versions=versions,
        ai=session.summary(),
    )
