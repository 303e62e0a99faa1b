"""The agent's hooks: its workspace settings, the /v1/agent and /v1/automations routes, the automations'
event kinds and their background round.

The core never imports the agent; it finds this module through the `ocma` entry point group. Importing it
is cheap (no litellm, no database): the commands import what they need when they run.
"""

from __future__ import annotations

from typing import Any

from ocma_core import BackgroundJob, hookimpl


@hookimpl
def register_settings(register: Any) -> None:
    """Make `agent_policy`, `agent` and `automations` settable (`ocma workspaces set`, PATCH
    /v1/workspaces/current)."""
    from ocma_agent.automations.rules import SETTING_DEF
    from ocma_agent.settings import SETTINGS

    for setting in SETTINGS:
        register(setting)
    register(SETTING_DEF)


@hookimpl
def register_routes(router: Any) -> None:
    """Add the /v1/agent and /v1/automations routes."""
    from ocma_agent.api import router as agent_router
    from ocma_agent.automations.api import router as automations_router

    router.include_router(agent_router)
    router.include_router(automations_router)


@hookimpl
def register_event_kinds(register: Any) -> None:
    """automation.drafted and automation.failed."""
    from ocma_agent.automations.kinds import KINDS

    for kind in KINDS:
        register(kind)


def _automations_round(ocma: Any) -> object:
    from ocma_agent.automations.runner import run_round

    return len(run_round(ocma))


@hookimpl
def register_background_jobs(register: Any) -> None:
    """The automations round: drafts from events, every few seconds in the worker."""
    from ocma_agent.automations.rules import PERIOD_S

    register(BackgroundJob("automations", _automations_round, period_s=PERIOD_S, queue="low"))
