"""API keys of the caller's workspace: list, create (the secret is shown once), revoke. Admins and owners only;
nobody creates or revokes a key above their own role."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.context import Ocma
from ocma_core.db.models import ApiKey, Role
from ocma_core.permissions import Action
from ocma_core.services import workspaces

router = APIRouter(tags=["apikeys"])


class ApiKeyOut(BaseModel):
    """An API key as listed: its id and role, never the key or its hash."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: ApiKey) -> ApiKeyOut:
        """Project a key row."""
        return cls(
            key_id=record.key_id,
            name=record.name,
            role=Role(record.role),
            created_at=record.created_at,
            last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
        )


class CreatedApiKey(ApiKeyOut):
    """A new key: `key` is the secret, shown this once and never stored (only its hash is)."""

    key: str = Field(
        description="Send as `Authorization: Bearer <key>`. Store it now: it is not shown again."
    )

    @classmethod
    def of(cls, created: workspaces.CreatedKey) -> CreatedApiKey:  # type: ignore[override]
        """Project a freshly created key."""
        return cls(key=created.key, **ApiKeyOut.of(created.record).model_dump())


class NewApiKey(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200, description="What the key is for.", examples=["zapier"])
    role: Role = Field(Role.EDITOR, description="At most the calling key's own role.")


@router.get("/v1/apikeys")
def list_keys(
    caller: Caller = Depends(require(Action.APIKEYS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> list[ApiKeyOut]:
    """Every key of the workspace, revoked ones included (ids and roles only)."""
    return [ApiKeyOut.of(k) for k in workspaces.list_api_keys(ocma, caller.workspace_id)]


@router.post("/v1/apikeys", status_code=201)
def create_key(
    body: NewApiKey, caller: Caller = Depends(require(Action.APIKEYS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> CreatedApiKey:
    """Create a key of at most the caller's role; the answer is the only time the secret is shown."""
    created = workspaces.create_api_key(
        ocma, caller.workspace_id, name=body.name, role=body.role, by=caller.role
    )
    return CreatedApiKey.of(created)


@router.delete("/v1/apikeys/{key_id}")
def revoke_key(
    key_id: str, caller: Caller = Depends(require(Action.APIKEYS_MANAGE)), ocma: Ocma = Depends(get_ocma)
) -> ApiKeyOut:
    """Revoke a key (at most the caller's role); it stops working at once. Revoking twice is harmless."""
    return ApiKeyOut.of(workspaces.revoke_api_key(ocma, caller.workspace_id, key_id, by=caller.role))
