"""Generate content from a brief: title, main text, variations, hashtags, suggestions and validated drafts
for each selected platform (the original product's contract), in the workspace's brand voice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocma_core.content.adapt import MAX_REPAIRS, check_platform_map, finish, platform_block
from ocma_core.content.drafts import Draft, platforms_named
from ocma_core.content.llm import Session, require_text, string_list
from ocma_core.content.measures import HASHTAG, readability
from ocma_core.context import Ocma
from ocma_core.errors import ValidationFailed


@dataclass
class Generated:
    """Everything generated from one brief."""

    title: str
    main_content: str
    variations: list[str]
    hashtags: list[str]
    suggestions: list[str]
    drafts: list[Draft]
    ai: dict[str, Any]

    @property
    def ok(self) -> bool:
        """True when every platform accepted its draft."""
        return all(d.ok for d in self.drafts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with word counts computed from the main text."""
        counts = readability(self.main_content)
        return {
            "title": self.title,
            "main_content": self.main_content,
            "variations": self.variations,
            "hashtags": self.hashtags,
            "suggestions": self.suggestions,
            "drafts": [d.as_dict() for d in self.drafts],
            "ok": self.ok,
            "metadata": {
                "word_count": counts["words"],
                "sentence_count": counts["sentences"],
                "how": "computed by OCMA from main_content",
            },
            "ai": self.ai,
        }


def clean_hashtags(tags: list[str]) -> list[str]:
    """'#Tag' forms without spaces or duplicates (case-insensitive), in order."""
    seen: dict[str, str] = {}
    for tag in tags:
        word = tag.strip().lstrip("#").replace(" ", "")
        if word and HASHTAG.fullmatch("#" + word) and word.lower() not in seen:
            seen[word.lower()] = "#" + word
    return list(seen.values())


async def generate(
    ocma: Ocma,
    workspace_id: str,
    brief: str,
    platform_names: list[str],
    *,
    variations: int = 2,
    instructions: str = "",
    max_repairs: int = MAX_REPAIRS,
) -> Generated:
    """Turn a brief into content and per-platform drafts validated by each platform plugin."""
    if not brief.strip():
        raise ValidationFailed("The brief is empty.", fix="Describe what to announce or say.")
    if not 0 <= variations <= 5:
        raise ValidationFailed("variations must be between 0 and 5.")
    platforms = platforms_named(platform_names)
    if not platforms:
        raise ValidationFailed("No platform given.", fix="Name at least one, e.g. --platforms x,linkedin.")
    session = Session.open(ocma, workspace_id)
    names = [p.name for p in platforms]
    check_platforms = check_platform_map(names)

    def check_answer(data: dict[str, Any]) -> None:
        require_text(data.get("main_content"), "main_content")
        for key in ("variations", "hashtags", "suggestions"):
            string_list(data.get(key), key)
        check_platforms(data)

    user = session.prompt("generate").render(
        brief=brief.strip(),
        variations=variations,
        platform_rules=platform_block(session, platforms),
        platform_names=", ".join(names),
        extra=f"\nAlso: {instructions.strip()}\n" if instructions.strip() else "",
    )
    data = await session.ask_json(user, check_answer, max_tokens=3000)
    drafts = await finish(session, platforms, data["platforms"], max_repairs)
    title = data.get("title")
    return Generated(
        title=title.strip() if isinstance(title, str) else "",
        main_content=data["main_content"].strip(),
        variations=string_list(data.get("variations"), "variations")[:variations],
        hashtags=clean_hashtags(string_list(data.get("hashtags"), "hashtags")),
        suggestions=string_list(data.get("suggestions"), "suggestions"),
        drafts=drafts,
        ai=session.summary(),
    )
