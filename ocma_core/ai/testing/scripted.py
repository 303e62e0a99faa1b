"""A scripted "model" for the fakes' `responder`: answers OCMA's content prompts with fixed JSON.

It reads which task a prompt is (generate, adapt, repair, optimize, score) and which platforms it names, and
answers from the texts it was given; `calls` records the tasks in order. Tests decide every word it says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TEXT = "Join our free webinar on Tuesday at 17:00 CET: https://example.com/webinar #Webinar"
_FOR_EACH = re.compile(r"for each of: ([^\n]+?)\.\n")
_REPAIR = re.compile(r"Your draft for (.+?) was rejected")


def last_user(body: dict[str, Any]) -> str:
    """The text of the last user message of a chat request."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content)
    return ""


@dataclass
class ContentModel:
    """Answers content prompts: `texts` per platform name, `repairs` per platform label (first, second, ...)."""

    texts: dict[str, str] = field(default_factory=dict)
    threads: dict[str, list[str]] = field(default_factory=dict)
    repairs: dict[str, list[str]] = field(default_factory=dict)
    title: str = "Webinar announcement"
    main_content: str = DEFAULT_TEXT
    alternatives: list[dict[str, str]] = field(default_factory=list)
    judgement: dict[str, Any] = field(
        default_factory=lambda: {
            "tone": {"label": "friendly, clear", "score": 8, "reason": "Warm and direct."},
            "clarity": {"score": 9, "reason": "One message, stated once."},
            "hook": {"score": 6, "reason": "The opening is informative but not surprising."},
        }
    )
    calls: list[str] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> str:
        """The answer to one chat request."""
        user = last_user(body)
        if "cannot be used:" in user:
            self.calls.append("correction")
            user = next(m["content"] for m in body["messages"] if m.get("role") == "user")
        if "was rejected by" in user:
            return self._repair(user)
        if user.startswith("Create social media content"):
            self.calls.append("generate")
            return json.dumps(
                {
                    "title": self.title,
                    "main_content": self.main_content,
                    "variations": [f"{self.main_content} (take {i})" for i in (1, 2)],
                    "hashtags": ["#Webinar", "Marketing", "#webinar"],
                    "suggestions": ["Add a speaker photo."],
                    "platforms": self._platforms(user),
                }
            )
        if user.startswith("Adapt this message"):
            self.calls.append("adapt")
            return json.dumps({"platforms": self._platforms(user)})
        if user.startswith("Improve this"):
            self.calls.append("optimize")
            alternatives = self.alternatives or [
                {"label": f"Angle {i}", "text": f"{DEFAULT_TEXT} Angle {i}.", "rationale": "Different angle."}
                for i in (1, 2, 3)
            ]
            return json.dumps(
                {
                    "optimized": {
                        "text": self.texts.get("optimized", DEFAULT_TEXT + " Save your seat!"),
                        "rationale": "Adds a call to action.",
                    },
                    "alternatives": alternatives,
                }
            )
        if user.startswith("Judge this"):
            self.calls.append("score")
            return json.dumps(self.judgement)
        self.calls.append("other")
        return "ok"

    def _platforms(self, user: str) -> dict[str, Any]:
        match = _FOR_EACH.search(user)
        names = [n.strip() for n in match.group(1).split(",")] if match else []
        return {
            name: {"text": self.texts.get(name, DEFAULT_TEXT), "thread": self.threads.get(name, [])}
            for name in names
        }

    def _repair(self, user: str) -> str:
        match = _REPAIR.search(user)
        label = match.group(1) if match else ""
        self.calls.append(f"repair:{label}")
        queue = self.repairs.get(label) or [DEFAULT_TEXT]
        text = queue.pop(0) if len(queue) > 1 else queue[0]
        return json.dumps({"text": text, "thread": []})
