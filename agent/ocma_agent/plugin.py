"""The agent's hooks: its workspace settings, and the /v1/agent routes.

The core never imports the agent; it finds this module through the `ocma` entry point group. Importing it
is cheap (no litellm, no database): the commands import what they need when they run.
"""

from __future__ import annotations

from typing import Any

from ocma_core import hookimpl


@hookimpl
def register_settings(register: Any) -> None:
    """Make `agent_policy` and `agent` settable (`ocma workspaces set`, PATCH /v1/workspaces/current)."""
    from ocma_agent.settings import SETTINGS

    for setting in SETTINGS:
        register(setting)


@hookimpl
def register_routes(router: Any) -> None:
    """Add the /v1/agent routes."""
    from ocma_agent.api import router as agent_router

    router.include_router(agent_router)
