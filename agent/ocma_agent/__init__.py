"""OCMA agent: a tool-calling assistant that composes, schedules and reports, in the terminal (`ocma chat`),
over HTTP (`POST /v1/agent/threads/{id}/messages`) and as an MCP server (`ocma mcp`).

Public API (imported lazily, so loading the plugin stays cheap):

- `run_turn(ocma, workspace_id, thread_key, text, caller=Caller(...), on_event=..., approver=...)`
  answers one message in a persisted thread and returns a `TurnResult`; `run_turn_sync` for sync callers.
- `Caller(surface, user, role)`, `AgentEvent`, `TurnResult`, `ApprovalRequest`.
- `Tool`, `tool`, `ToolContext`, `Toolset`, `default_toolset()`, `core_tools()` for writing and listing tools.
- `build_mcp_server(ocma, ...)`, `history(ocma, workspace_id, thread_key)`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run_turn": "ocma_agent.loop",
    "run_turn_sync": "ocma_agent.loop",
    "AgentSettings": "ocma_agent.loop",
    "Caller": "ocma_agent.context",
    "ApprovalRequest": "ocma_agent.context",
    "ToolContext": "ocma_agent.context",
    "AgentEvent": "ocma_agent.events",
    "TurnResult": "ocma_agent.events",
    "Tool": "ocma_agent.toolkit",
    "tool": "ocma_agent.toolkit",
    "Toolset": "ocma_agent.toolset",
    "default_toolset": "ocma_agent.tools",
    "core_tools": "ocma_agent.tools",
    "build_mcp_server": "ocma_agent.mcp_server",
    "history": "ocma_agent.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ocma_agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
