"""What a turn reports while it runs (streamed text, tool calls, approvals) and what it ends with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Kinds: "text" {"delta"}, "tool_call" {"id","name","arguments"}, "tool_result" {"id","name","ok",
# "summary","error"}, "approval" (an ApprovalRequest as a dict), "done" {"text","steps"},
# "error" {"title","message","fix"}.
KINDS = ("text", "tool_call", "tool_result", "approval", "done", "error")


@dataclass(frozen=True)
class AgentEvent:
    """One thing that happened during a turn."""

    kind: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"type": kind, ...data}."""
        return {"type": self.kind, **self.data}


EventSink = Callable[[AgentEvent], None]


@dataclass
class TurnResult:
    """The outcome of one user message: the reply, the tool calls made, approvals, and any error."""

    thread_key: str
    text: str = ""
    steps: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    stopped: str = "done"  # done, step_limit, error
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unbacked_claims: list[str] = field(default_factory=list)  # claims in `text` no tool call reported

    @property
    def ok(self) -> bool:
        """True when the turn ended without an error."""
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the HTTP API's response body)."""
        return {
            "thread": self.thread_key,
            "text": self.text,
            "steps": self.steps,
            "stopped": self.stopped,
            "tool_calls": self.tool_calls,
            "approvals": self.approvals,
            "error": self.error,
            "unbacked_claims": self.unbacked_claims,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
        }


def error_data(exc: Exception) -> dict[str, Any]:
    """An error as {"title","message","fix","status"} for events and responses."""
    return {
        "title": getattr(exc, "title", type(exc).__name__),
        "message": getattr(exc, "message", str(exc)),
        "fix": getattr(exc, "fix", None),
        "fixes": dict(getattr(exc, "fixes", None) or {}),  # a surface's own advice ("cli", "api")
        "status": getattr(exc, "status_code", 500),
    }
