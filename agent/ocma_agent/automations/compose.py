"""What the model is told when an automation drafts a post, and the one call that writes it.

The prompt carries only aggregate, non-personal facts: the event kind and its documented meaning, how many
events happened, and the first and last time. No payload field of any event reaches the model: not a
customer id, name or email, not an amount, not an object id (a sum of one sale would be that customer's
amount, so amounts are left out altogether). The operator's instruction is the only free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocma_core.app import content
from ocma_core.errors import ValidationFailed

MAX_TOKENS = 600
FENCE_CHARS = "`\"' \n"

PROMPT = """Write one social media post for the accounts below.

What happened (aggregate only; OCMA never gives you details of any customer or payment):
- {count} event(s) of kind {kind}: {meaning}
- between {first} and {last} (UTC)

The team's instruction: {instruction}

Rules:
- Do not name, describe, quote or single out any customer or person, and do not state amounts or prices.
- You may say how many there were, or speak of them as a group.
- The post must fit every platform below.

{platform_rules}

Answer with the post text only: no quotes, no preamble, no JSON."""

RETRY = "That text cannot be used: {problems}. Answer again with the post text only, fixing this."


@dataclass(frozen=True)
class Facts:
    """What an automation tells the model: the kind, its meaning, the count and the time span."""

    kind: str
    meaning: str
    count: int
    first: datetime
    last: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the automation.drafted event)."""
        return {
            "kind": self.kind,
            "count": self.count,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
        }


def prompt_for(facts: Facts, instruction: str, platform_rules: str) -> str:
    """The user message of the drafting call."""
    return PROMPT.format(
        count=facts.count,
        kind=facts.kind,
        meaning=facts.meaning,
        first=facts.first.strftime("%Y-%m-%d %H:%M"),
        last=facts.last.strftime("%Y-%m-%d %H:%M"),
        instruction=instruction.strip(),
        platform_rules=platform_rules,
    )


def _problems(platforms: list[Any], text: str) -> list[str]:
    found = []
    for platform in platforms:
        draft = content.check(platform, text)
        found += [f"{draft.platform}: {p.get('message', p.get('code', ''))}" for p in draft.problems]
    return found


async def compose(
    ocma: Any, workspace_id: str, facts: Facts, instruction: str, platform_names: list[str]
) -> tuple[str, dict[str, Any]]:
    """The post text the workspace's model wrote (checked by every platform, one corrective retry) and the
    call's usage summary; ValidationFailed when the text still breaks a platform's rules."""
    platforms = content.platforms_named(sorted(set(platform_names)))
    session = content.Session.open(ocma, workspace_id)
    rules = "\n".join(f"- {p.display_name or p.name}: {content.rules(p)}" for p in platforms)
    messages: list[dict[str, Any]] = [
        session.system(),
        {"role": "user", "content": prompt_for(facts, instruction, rules)},
    ]
    problems: list[str] = []
    for _ in range(2):
        # Never cached: two windows with the same count must not get the same words.
        result = await content.complete_text(
            ocma, workspace_id, messages, max_tokens=MAX_TOKENS, use_cache=False
        )
        session.results.append(result)
        text = result.text.strip().strip(FENCE_CHARS).strip()
        problems = ["the answer is empty"] if not text else _problems(platforms, text)
        if not problems:
            return text, session.summary()
        messages += [
            {"role": "assistant", "content": result.text},
            {"role": "user", "content": RETRY.format(problems="; ".join(problems))},
        ]
    raise ValidationFailed(
        f"The model's post breaks a platform's rules: {'; '.join(problems)}.",
        fix="Shorten or clarify the automation's instruction, or pick another model (`ocma ai set --model`).",
    )
