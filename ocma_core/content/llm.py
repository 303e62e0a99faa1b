"""Asking the workspace's model for JSON, with one corrective retry, and adding up what the calls cost."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocma_core.ai.errors import AIBadOutput
from ocma_core.ai.service import complete_text
from ocma_core.ai.settings import AIConfig, load_config
from ocma_core.ai.types import TextResult
from ocma_core.content import prompts
from ocma_core.context import Ocma

FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
NO_VOICE = "not set: write clearly and naturally, without hype"


def parse_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (code fences and surrounding prose tolerated), or ValueError."""
    cleaned = FENCE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the answer contains no JSON object")
    try:
        data = json.loads(cleaned[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the JSON is invalid ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


@dataclass
class Session:
    """One content task for a workspace: its configuration and every model call it made."""

    ocma: Ocma
    workspace_id: str
    config: AIConfig
    results: list[TextResult] = field(default_factory=list)

    @classmethod
    def open(cls, ocma: Ocma, workspace_id: str) -> Session:
        """A session with the workspace's AI configuration loaded."""
        return cls(ocma, workspace_id, load_config(ocma, workspace_id))

    def prompt(self, name: str, default: str | None = None) -> prompts.Prompt:
        """The workspace's effective template `name`."""
        return prompts.load(self.ocma, self.config, name, default=default)

    def system(self) -> dict[str, str]:
        """The system message: workspace name and brand voice."""
        text = self.prompt("system").render(
            workspace_name=self.config.workspace_name, brand_voice=self.config.brand_voice.strip() or NO_VOICE
        )
        return {"role": "system", "content": text}

    async def ask_json(
        self,
        user: str,
        check: Callable[[dict[str, Any]], None],
        *,
        max_tokens: int = 2000,
        temperature: float | None = 0.7,
    ) -> dict[str, Any]:
        """Ask for a JSON object that passes `check` (which raises ValueError with the reason); one retry."""
        messages: list[dict[str, Any]] = [self.system(), {"role": "user", "content": user}]

        def usable(result: TextResult) -> bool:
            try:
                check(parse_object(result.text))
            except ValueError:
                return False
            return True

        reason = ""
        for _ in range(2):
            result = await complete_text(
                self.ocma,
                self.workspace_id,
                messages,
                json_mode=True,
                max_tokens=max_tokens,
                temperature=temperature,
                cacheable=usable,
            )
            self.results.append(result)
            try:
                data = parse_object(result.text)
                check(data)
                return data
            except ValueError as exc:
                reason = str(exc)
            messages = [
                *messages,
                {"role": "assistant", "content": result.text},
                {
                    "role": "user",
                    "content": f"That answer cannot be used: {reason}. Answer again with "
                    "only the JSON object described above.",
                },
            ]
        raise AIBadOutput(
            f"The model ({self.results[-1].model}) did not return the JSON asked for: {reason}.",
            fix="Retry, or choose a stronger model (`ocma ai set --model ...`).",
        )

    def summary(self) -> dict[str, Any]:
        """What the task's model calls used and cost, and where each cost figure came from."""
        paid = [r for r in self.results if not r.cached]
        return {
            "model": self.results[-1].model if self.results else self.config.model,
            "calls": len(self.results),
            "cached_calls": sum(1 for r in self.results if r.cached),
            "prompt_tokens": sum(r.prompt_tokens for r in paid),
            "completion_tokens": sum(r.completion_tokens for r in paid),
            "cost_usd": round(sum(r.cost_usd or 0.0 for r in paid), 8),
            "calls_with_unknown_cost": sum(1 for r in paid if r.cost_usd is None),
            "cost_sources": sorted({r.cost_source for r in paid}),
        }


def require_text(value: Any, what: str) -> str:
    """A non-empty string, or ValueError naming the field."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'"{what}" must be a non-empty string')
    return value


def string_list(value: Any, what: str) -> list[str]:
    """A list of strings (None is an empty list), or ValueError naming the field."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'"{what}" must be a list of strings')
    return [v for v in value if v.strip()]
