"""Who is asking, and what a tool call may see and do: Caller, ToolContext, ApprovalRequest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ocma_core.app import Ocma
from ocma_core.app.models import Role

SURFACES = ("cli", "api", "mcp", "slack")


@dataclass(frozen=True)
class Caller:
    """The person or program behind a turn: the surface it came through, who it is, and its role."""

    surface: str
    user: str = ""
    role: Role = Role.EDITOR

    def label(self) -> str:
        """e.g. `api key k_abc (editor)`."""
        who = f" {self.user}" if self.user else ""
        return f"{self.surface}{who} ({self.role.value})"


@dataclass
class ApprovalRequest:
    """Something that would reach the public and waits for a person's yes."""

    post_id: str
    action: str  # schedule, publish, retry, edit, or the name of a tool asking a person first
    when: str | None
    accounts: list[str]
    text: str
    reason: str
    outside_sources: list[str] = field(default_factory=list)
    status: str = "pending"  # pending, approved, declined
    decided_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


Approver = Callable[[ApprovalRequest], "Awaitable[bool] | bool"]


@dataclass
class ToolContext:
    """What a tool call receives besides its arguments (never shown to the model)."""

    ocma: Ocma
    workspace_id: str
    caller: Caller
    thread_key: str
    timezone: str
    now: Callable[[], datetime]
    tainted: bool = False
    outside_sources: list[str] = field(default_factory=list)
    require_approval: bool = True
    approval_reason: str = ""
    approvals: list[ApprovalRequest] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def taint(self, source: str) -> None:
        """Note that text from outside (`source`) entered the model's context in this turn."""
        self.tainted = True
        if source and source not in self.outside_sources:
            self.outside_sources.append(source)

    def written_from(self) -> list[str]:
        """The outside sources a post the agent writes now is made from (empty in a clean turn): the agent is
        never a person, so its writes add to a post's outside-text mark and never clear it."""
        return list(self.outside_sources) if self.tainted else []

    def request_approval(
        self, post_id: str, action: str, when: datetime | None, accounts: list[str], text: str
    ) -> ApprovalRequest:
        """Record that a post was held for approval by this call (the agent asks or reports it)."""
        request = ApprovalRequest(
            post_id=post_id,
            action=action,
            when=when.isoformat() if when else None,
            accounts=accounts,
            text=text[:280],
            reason=self.approval_reason,
            outside_sources=list(self.outside_sources) if self.tainted else [],
        )
        self.approvals.append(request)
        return request
