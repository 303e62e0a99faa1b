"""A scripted OpenAI-compatible model on loopback for the agent tests (JSON and SSE, tool calls included).

Built on ocma_core's FakeOpenAI (itself a FakeServer): the same wire format as OpenAI's chat completions.
Each queued step is a Reply, a string, or a function of the request body returning one, so a script can use
what earlier tool results said (post ids, metrics). Reached through litellm as `openai/<name>` + api_base.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ocma_core.ai.testing.fake_openai import DEFAULT_KEY, FakeOpenAI, Reply

Step = Reply | str | Callable[[dict[str, Any]], "Reply | str"]
MODEL = "openai/ocma-agent-test"
KEY = DEFAULT_KEY


def call(name: str, **arguments: Any) -> Reply:
    """A reply that calls one tool."""
    return Reply(content=None, tool_calls=[{"name": name, "arguments": arguments}])


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tool message of the request, parsed, oldest first."""
    found = []
    for message in body.get("messages", []):
        if message.get("role") == "tool":
            try:
                found.append(json.loads(message["content"]))
            except (ValueError, TypeError):
                found.append({"raw": message.get("content")})
    return found


def last_result(body: dict[str, Any]) -> dict[str, Any]:
    """The latest tool result in the request."""
    results = tool_results(body)
    assert results, "the model expected a tool result here"
    return results[-1]


class ScriptedModel(FakeOpenAI):
    """FakeOpenAI whose queued replies may be functions of the request."""

    def script(self, *steps: Step) -> None:
        """Queue the model's next turns, in order."""
        with self.lock:
            self.replies.extend(steps)  # type: ignore[arg-type]

    def _next_reply(self, body: dict[str, Any]) -> Reply | str:
        with self.lock:
            step = self.replies.popleft() if self.replies else None
        if step is None:
            return self.responder(body)
        return step(body) if callable(step) else step

    def pending(self) -> int:
        """Scripted steps not used yet."""
        with self.lock:
            return len(self.replies)
