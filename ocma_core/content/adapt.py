"""Adapt one message to each platform within its exact limit and rules; a failing draft is regenerated with
the platform's own reason, and is never truncated."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ocma_core.content.drafts import Draft, check, label, platforms_named, rules
from ocma_core.content.llm import Session, require_text, string_list
from ocma_core.context import Ocma
from ocma_core.errors import ValidationFailed
from ocma_core.platforms import Platform

MAX_REPAIRS = 2


def platform_block(session: Session, platforms: list[Platform]) -> str:
    """Each platform's rules (from its plugin) and style guidance (from its prompt template)."""
    lines = []
    for platform in platforms:
        style = session.prompt(f"platform/{platform.name}", default="platform/default").render().strip()
        lines.append(f'- "{platform.name}" ({label(platform)}): {rules(platform)}. Style: {style}')
    return "\n".join(lines)


def entry_parts(entry: Any) -> tuple[str, list[str]]:
    """Text and thread from a model's platform entry ({"text", "thread"} or a bare string)."""
    if isinstance(entry, str):
        return entry, []
    if isinstance(entry, dict):
        text = entry.get("text")
        return (text if isinstance(text, str) else ""), string_list(entry.get("thread"), "thread")
    return "", []


def check_platform_map(names: list[str]) -> Any:
    """A check that the answer has {"platforms": {...}} with an entry per platform."""

    def check_answer(data: dict[str, Any]) -> None:
        found = data.get("platforms")
        if not isinstance(found, dict):
            raise ValueError('"platforms" must be an object keyed by platform name')
        missing = [n for n in names if n not in found]
        if missing:
            raise ValueError(f'"platforms" has no entry for {", ".join(missing)}')
        for name in names:
            text, _ = entry_parts(found[name])
            require_text(text, f"platforms.{name}.text")

    return check_answer


async def repair(session: Session, platform: Platform, draft: Draft, max_repairs: int = MAX_REPAIRS) -> Draft:
    """Regenerate a rejected draft with the platform's reasons until it passes or the repairs run out."""
    while not draft.ok and draft.attempts <= max_repairs:
        problems = "\n".join(f"- {p['message']}" for p in draft.problems)
        shown = draft.text + "".join(f"\n[thread part {i + 1}] {t}" for i, t in enumerate(draft.thread))
        user = session.prompt("repair").render(
            platform_label=label(platform), problems=problems, draft=shown, rules=rules(platform)
        )

        def check_answer(data: dict[str, Any]) -> None:
            require_text(data.get("text"), "text")
            string_list(data.get("thread"), "thread")

        data = await session.ask_json(user, check_answer, temperature=0.4)
        fixed = check(platform, data["text"], string_list(data.get("thread"), "thread"))
        fixed.attempts = draft.attempts + 1
        fixed.rejected = [
            *draft.rejected,
            {"text": draft.text, "thread": draft.thread, "problems": draft.problems},
        ]
        draft = fixed
    return draft


async def finish(
    session: Session, platforms: list[Platform], entries: dict[str, Any], max_repairs: int = MAX_REPAIRS
) -> list[Draft]:
    """Validate each platform's entry with its plugin and repair the ones it rejects (concurrently)."""
    drafts = [check(p, *entry_parts(entries.get(p.name))) for p in platforms]
    return list(
        await asyncio.gather(
            *(repair(session, p, d, max_repairs) for p, d in zip(platforms, drafts, strict=True))
        )
    )


@dataclass
class Adapted:
    """Per-platform drafts of one message, and what producing them cost."""

    drafts: list[Draft]
    ai: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"drafts": [d.as_dict() for d in self.drafts], "ai": self.ai}


async def adapt(
    ocma: Ocma,
    workspace_id: str,
    text: str,
    platform_names: list[str],
    *,
    instructions: str = "",
    max_repairs: int = MAX_REPAIRS,
) -> Adapted:
    """Write `text` for each platform; every draft is checked by the platform plugin itself."""
    if not text.strip():
        raise ValidationFailed("There is no text to adapt.", fix="Give the message to adapt.")
    platforms = platforms_named(platform_names)
    if not platforms:
        raise ValidationFailed("No platform given.", fix="Name at least one, e.g. --platforms x,linkedin.")
    session = Session.open(ocma, workspace_id)
    names = [p.name for p in platforms]
    user = session.prompt("adapt").render(
        text=text.strip(),
        platform_rules=platform_block(session, platforms),
        platform_names=", ".join(names),
        extra=f"\nAlso: {instructions.strip()}\n" if instructions.strip() else "",
    )
    data = await session.ask_json(user, check_platform_map(names))
    drafts = await finish(session, platforms, data["platforms"], max_repairs)
    return Adapted(drafts=drafts, ai=session.summary())
