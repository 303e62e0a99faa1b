"""The agent's workspace settings, registered with the core so `ocma workspaces set` and
`PATCH /v1/workspaces/current` can set them: `agent_policy` (who may act directly) and `agent` (limits, model)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ocma_agent.context import SURFACES
from ocma_agent.policy import SETTING, validate_policy
from ocma_core import WorkspaceSetting
from ocma_core.app.models import Role

# The loop reads these defaults from here (this module stays light: no litellm, no tools).
DEFAULT_MAX_STEPS = 10
DEFAULT_CONTEXT_TOKENS = 12_000
DEFAULT_REPLY_TOKENS = 1_500


class AgentPolicy(BaseModel):
    """Which surfaces' callers may make the agent reach the public directly, with the least role each needs."""

    model_config = ConfigDict(extra="forbid")

    act_directly: dict[str, Role] = Field(
        default_factory=dict, description=f"surface ({', '.join(SURFACES)}) -> least role; absent = held."
    )


class AgentLimits(BaseModel):
    """The agent's limits and model for this workspace; a missing field keeps its default."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    max_steps: int | None = Field(
        None, ge=1, le=50, description=f"Steps per turn (default {DEFAULT_MAX_STEPS})."
    )
    context_tokens: int | None = Field(
        None,
        ge=1_000,
        le=1_000_000,
        description=f"History the model sees (default {DEFAULT_CONTEXT_TOKENS}).",
    )
    reply_tokens: int | None = Field(
        None, ge=100, le=32_000, description=f"Longest answer (default {DEFAULT_REPLY_TOKENS})."
    )
    model: str | None = Field(
        None, min_length=1, max_length=200, description="A litellm model for the agent (default OCMA_MODEL)."
    )


SURFACE_LIST = ", ".join(SURFACES)
SETTINGS = (
    WorkspaceSetting(
        SETTING,
        AgentPolicy,
        "Who may make the agent schedule, publish or delete without a person's approval, per surface.",
        example={"act_directly": {"cli": "editor", "slack": "admin"}},
        fix=f'An object like {{"act_directly": {{"slack": "admin"}}}}: surfaces {SURFACE_LIST}; roles '
        "owner, admin, editor, viewer.",
        check=validate_policy,
    ),
    WorkspaceSetting(
        "agent",
        AgentLimits,
        "The agent's step limit, context and reply sizes, and model.",
        example={"max_steps": 8, "model": "openai/gpt-4o-mini"},
        fix='An object like {"max_steps": 8, "context_tokens": 12000, "reply_tokens": 1500, "model": "..."} '
        "(max_steps 1-50, context_tokens 1000-1000000, reply_tokens 100-32000).",
    ),
)
