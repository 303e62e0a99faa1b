"""The approval policy: who may make the agent reach the public directly, and when nobody may.

Workspace setting (absent = every schedule, publish, retry and delete waits for a person's approval):

    settings["agent_policy"] = {"act_directly": {"cli": "editor", "api": "admin", "slack": "admin"}}

maps a surface to the least role that may act directly through it. Two rules sit above that setting:

1. Outside text never triggers a public action by itself. Tools that return text from outside (a fetched
   page, a platform comment, a file) mark the turn as *tainted*; so does such a result still present in the
   conversation the model sees. In a tainted turn every public action is held for approval, whatever the
   policy says, and the approval request names the outside sources.
2. The workspace's own `approval_required` setting holds everything (the core enforces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocma_agent.context import SURFACES, Caller
from ocma_core.app.models import ROLE_RANK, Role

SETTING = "agent_policy"


@dataclass(frozen=True)
class Decision:
    """Whether a public action may go ahead directly, and why (shown to the model and the person)."""

    direct: bool
    reason: str


def act_directly(settings: dict[str, Any]) -> dict[str, Role]:
    """The surfaces whose callers may act directly, with the least role each needs (invalid entries ignored)."""
    raw = (settings.get(SETTING) or {}).get("act_directly") or {}
    allowed: dict[str, Role] = {}
    if isinstance(raw, dict):
        for surface, role in raw.items():
            try:
                allowed[str(surface)] = Role(str(role))
            except ValueError:
                continue
    return allowed


def decide(
    settings: dict[str, Any], caller: Caller, *, tainted: bool, sources: list[str] | None = None
) -> Decision:
    """The decision for one public action by `caller` in a turn that is (or is not) tainted."""
    if tainted:
        where = ", ".join(sources or []) or "outside content"
        return Decision(
            False,
            f"held for a person's approval: this turn contains text from outside ({where}), which may "
            "carry instructions that did not come from you",
        )
    if settings.get("approval_required"):
        return Decision(False, "held for approval: the workspace requires approval for every post")
    least = act_directly(settings).get(caller.surface)
    if least is not None and ROLE_RANK[caller.role] >= ROLE_RANK[least]:
        return Decision(True, f"the workspace policy lets {caller.label()} act directly")
    if least is not None:
        return Decision(
            False, f"held for approval: acting directly through {caller.surface} needs the {least.value} role"
        )
    return Decision(False, f"held for a person's approval (the workspace policy for {caller.surface})")


def describe(settings: dict[str, Any], caller: Caller) -> str:
    """One line for the system prompt: what this caller may do directly."""
    least = act_directly(settings).get(caller.surface)
    if settings.get("approval_required"):
        return (
            "Every schedule, publish and retry waits for a person's approval (workspace setting); deleting a "
            "published post needs a person's yes when you call it."
        )
    if least is not None and ROLE_RANK[caller.role] >= ROLE_RANK[least]:
        return (
            "You may schedule, publish, retry and delete published posts directly for this caller, except "
            "right after reading outside content (then it waits for a person's approval)."
        )
    return (
        "Schedule, publish and retry wait for a person's approval: the post is held as pending_approval. "
        "Deleting a published post cannot be held: it needs a person's yes when you call it."
    )


def validate_policy(value: Any) -> dict[str, Any]:
    """Check a policy value an admin wants to store; ValueError says what is wrong."""
    if not isinstance(value, dict) or set(value) - {"act_directly"}:
        raise ValueError('agent_policy takes {"act_directly": {surface: least role}}')
    mapping = value.get("act_directly") or {}
    if not isinstance(mapping, dict):
        raise ValueError("act_directly maps a surface to a role")
    for surface, role in mapping.items():
        if surface not in SURFACES:
            raise ValueError(f"unknown surface {surface!r}; one of {', '.join(SURFACES)}")
        if role not in {r.value for r in Role}:
            raise ValueError(f"unknown role {role!r} for {surface}")
    return value
