"""Members of the caller's workspace: list, add, change role, name or external ids (Slack), remove.

`{member}` in a path is a member id, an email or an external id (e.g. a Slack member id).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors
from ocma_core.context import Ocma
from ocma_core.db.models import Member, Role
from ocma_core.permissions import Action
from ocma_core.services import members

router = APIRouter(tags=["members"])

EXTERNAL_IDS = (
    'Ids of this person in other systems, e.g. {"slack": "U0123ABC"} (the Slack member id: profile → ⋮ → '
    "Copy member ID) so the Slack app knows who is talking."
)


class MemberOut(BaseModel):
    """A member of the workspace."""

    id: str
    email: str | None = Field(description="None for a member known only by an external id.")
    name: str
    role: Role
    external_ids: dict[str, str]
    created_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        """Project a member row."""
        return cls(
            id=member.id,
            email=member.email,
            name=member.name,
            role=member.role,
            external_ids={str(k): str(v) for k, v in (member.external_ids or {}).items()},
            created_at=member.created_at,
        )


class NewMember(BaseModel):
    """A member to add: an email, an external id, or both."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320, examples=["ana@example.com"])
    name: str = Field("", max_length=200)
    role: Role = Field(Role.EDITOR, description="At most the calling key's own role.")
    external_ids: dict[str, str] = Field(default_factory=dict, description=EXTERNAL_IDS)


class MemberPatch(BaseModel):
    """What to change; an external id set to null (or "") is removed."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = Field(None, description="At most the calling key's own role.")
    name: str | None = Field(None, max_length=200)
    external_ids: dict[str, str | None] | None = Field(None, description=EXTERNAL_IDS)


@router.get("/v1/members")
def list_members(
    caller: Caller = Depends(require(Action.MEMBERS_READ)), ocma: Ocma = Depends(get_ocma)
) -> list[MemberOut]:
    """Every member of the workspace with their role and linked ids, oldest first."""
    return [MemberOut.of(m) for m in members.list_members(ocma, caller.workspace_id)]


@router.post("/v1/members", status_code=201, responses=errors(409))
def add_member(
    body: NewMember, caller: Caller = Depends(require(Action.MEMBERS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> MemberOut:
    """Add a member (admins; nobody grants a role above their own)."""
    member = members.add_member(
        ocma,
        caller.workspace_id,
        email=body.email,
        name=body.name,
        role=body.role,
        external_ids=body.external_ids,
        by=caller.role,
    )
    return MemberOut.of(member)


@router.get("/v1/members/{member}", responses=errors(409))
def get_member(
    member: str, caller: Caller = Depends(require(Action.MEMBERS_READ)), ocma: Ocma = Depends(get_ocma)
) -> MemberOut:
    """One member, by id, email or external id."""
    with ocma.session() as session:
        return MemberOut.of(members.find_member(session, caller.workspace_id, member))


@router.patch("/v1/members/{member}", responses=errors(409))
def update_member(
    member: str,
    body: MemberPatch,
    caller: Caller = Depends(require(Action.MEMBERS_MANAGE)),
    ocma: Ocma = Depends(get_ocma),
) -> MemberOut:
    """Change a member's role, name or external ids (the only owner cannot be demoted)."""
    updated = members.update_member(
        ocma,
        caller.workspace_id,
        member,
        role=body.role,
        name=body.name,
        external_ids=body.external_ids,
        by=caller.role,
    )
    return MemberOut.of(updated)


@router.delete("/v1/members/{member}", responses=errors(409))
def remove_member(
    member: str, caller: Caller = Depends(require(Action.MEMBERS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> MemberOut:
    """Remove a member (never the only owner); the answer is the removed member."""
    return MemberOut.of(members.remove_member(ocma, caller.workspace_id, member, by=caller.role))
