"""Score a post: deterministic measures computed by our code, and qualities judged by the workspace's model.

Every measure says how it was produced. There is no overall score: any weighting into one number would be
an invented figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocma_core.content.drafts import check, label
from ocma_core.content.llm import Session, require_text
from ocma_core.content.measures import Measure, emojis, hashtags, links, mentions, readability
from ocma_core.context import Ocma
from ocma_core.errors import ValidationFailed
from ocma_core.platforms import Platform
from ocma_core.registry import get_platform

JUDGED = ("tone", "clarity", "hook")
NOTE = (
    "No overall score is given: OCMA does not combine these measures into one number, because any "
    "weighting would be invented."
)


def computed(platform: Platform, text: str, has_media: bool) -> list[Measure]:
    """Measures our code computes from the text and the platform plugin's own limits and validation."""
    limit = platform.limits.text
    length = limit.count(text)
    name = label(platform)
    counts = readability(text)
    found_tags, found_mentions, found_links = hashtags(text), mentions(text), links(text)
    draft = check(platform, text)
    measures = [
        Measure(
            "length",
            length,
            "computed",
            f"counted with the {name} plugin's own counter",
            {
                "limit": limit.max_length,
                "unit": limit.unit,
                "percent_of_limit": round(100.0 * length / limit.max_length, 1) if limit.max_length else None,
            },
        ),
        Measure(
            "length_vs_optimum",
            round(length / limit.optimum, 2) if limit.optimum else None,
            "computed",
            f"length divided by the optimum the {name} plugin declares"
            if limit.optimum
            else f"not compared: the {name} plugin declares no documented optimum length",
            {"optimum": limit.optimum},
        ),
        Measure(
            "readability",
            counts.get("flesch_reading_ease"),
            "computed",
            "Flesch reading ease, 206.835 - 1.015 x words/sentence - 84.6 x syllables/word, over the text "
            "without links, hashtags and mentions; syllables by an English vowel-group rule, so the figure "
            "is meaningful for English text only",
            {k: v for k, v in counts.items() if k != "flesch_reading_ease"},
        ),
        Measure(
            "hashtags", len(found_tags), "computed", "#words found in the text", {"hashtags": found_tags}
        ),
        Measure(
            "mentions",
            len(found_mentions),
            "computed",
            "@handles found in the text",
            {"mentions": found_mentions},
        ),
        Measure(
            "links",
            len(found_links),
            "computed",
            "http(s):// and www. links found in the text",
            {"links": found_links},
        ),
        Measure(
            "emojis", emojis(text), "computed", "pictographic characters, a joined sequence counted once"
        ),
        Measure("media", has_media, "computed", "whether the post carries media, as given in the request"),
        Measure(
            "valid",
            draft.ok,
            "computed",
            f"checked by the {name} plugin's validation",
            {"problems": draft.problems, "media_notes": draft.notes},
        ),
    ]
    return measures


def _check_judgement(data: dict[str, Any]) -> None:
    for key in JUDGED:
        item = data.get(key)
        if not isinstance(item, dict):
            raise ValueError(f'"{key}" must be an object with "score" and "reason"')
        score = item.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 10:
            raise ValueError(f'"{key}.score" must be a number from 1 to 10')
        require_text(item.get("reason"), f"{key}.reason")
    require_text(data["tone"].get("label"), "tone.label")


@dataclass
class Scored:
    """Measures of one post on one platform."""

    platform: str
    text: str
    measures: list[Measure]
    ai: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "platform": self.platform,
            "text": self.text,
            "measures": [m.as_dict() for m in self.measures],
            "note": NOTE,
            "ai": self.ai,
        }


async def score(
    ocma: Ocma,
    workspace_id: str,
    text: str,
    platform_name: str,
    *,
    has_media: bool = False,
    judge: bool = True,
) -> Scored:
    """Computed measures, plus tone, clarity and hook judged by the model when `judge`."""
    if not text.strip():
        raise ValidationFailed("There is no text to score.")
    platform = get_platform(platform_name.strip().lower())
    measures = computed(platform, text, has_media)
    if not judge:
        return Scored(platform.name, text, measures, None)
    session = Session.open(ocma, workspace_id)
    user = session.prompt("score").render(platform_label=label(platform), text=text.strip())
    data = await session.ask_json(user, _check_judgement, max_tokens=600, temperature=0.0)
    model = session.summary()["model"]
    for key in JUDGED:
        item = data[key]
        detail: dict[str, Any] = {"reason": item["reason"].strip(), "scale": "1 (poor) to 10 (excellent)"}
        if key == "tone":
            detail["label"] = item["label"].strip()
        measures.append(
            Measure(
                key,
                round(float(item["score"]), 1),
                "model",
                f"judged by {model} with the workspace's score prompt",
                detail,
            )
        )
    return Scored(platform.name, text, measures, session.summary())
