"""Workspaces: the caller's, a new one (with its owner key), and the current one's name, timezone and settings.

The settings models are built when the app is created, from the settings registered then (the core's and each
plugin's), so /openapi.json documents every settable setting with its own schema.
"""

# No `from __future__ import annotations`: the routes built in make_router() use models created at run time,
# which FastAPI must see as objects, not as names to resolve.

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from ocma_core.api.auth import Caller, get_ocma, require
from ocma_core.api.openapi import errors, if_match_header
from ocma_core.api.routes_apikeys import CreatedApiKey
from ocma_core.context import Ocma
from ocma_core.db.models import Role, Workspace
from ocma_core.permissions import Action
from ocma_core.services import workspaces
from ocma_core.workspace_settings import WorkspaceSetting, registered_settings, settings_view

router = APIRouter(tags=["workspaces"])
IF_MATCH = if_match_header(
    "The workspace's ETag as read (GET /v1/workspaces/current): the change applies only to that version."
)


class WorkspaceSummary(BaseModel):
    """A workspace without its settings."""

    id: str
    name: str
    timezone: str
    created_at: datetime

    @classmethod
    def of(cls, workspace: Workspace) -> "WorkspaceSummary":
        """Project a workspace row."""
        return cls(
            id=workspace.id, name=workspace.name, timezone=workspace.timezone, created_at=workspace.created_at
        )


class NewWorkspace(BaseModel):
    """A workspace to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Acme EMEA"])
    timezone: str = Field("UTC", max_length=64, description="IANA timezone name.", examples=["Europe/Berlin"])
    owner_email: str | None = Field(None, max_length=320, description="Adds this person as its owner.")


class CreatedWorkspace(BaseModel):
    """A new workspace and an owner API key for it (the only way in; the key is shown once)."""

    workspace: WorkspaceSummary
    key: CreatedApiKey


@router.get("/v1/workspaces")
def list_workspaces(
    caller: Caller = Depends(require(Action.WORKSPACE_READ)), ocma: Ocma = Depends(get_ocma)
) -> list[WorkspaceSummary]:
    """The workspaces this API key can act in: a key belongs to exactly one, so this lists that one."""
    return [WorkspaceSummary.of(workspaces.get_workspace(ocma, caller.workspace_id))]


@router.post("/v1/workspaces", status_code=201)
def create_workspace(
    body: NewWorkspace,
    caller: Caller = Depends(require(Action.WORKSPACES_CREATE)),
    ocma: Ocma = Depends(get_ocma),
) -> CreatedWorkspace:
    """Create a workspace (owner keys only); the answer carries an owner key for it, shown once."""
    workspace = workspaces.create_workspace(
        ocma, body.name, timezone=body.timezone, owner_email=body.owner_email or ""
    )
    created = workspaces.create_api_key(
        ocma, workspace.id, name=f"owner (created by key {caller.key_id})", role=Role.OWNER
    )
    return CreatedWorkspace(workspace=WorkspaceSummary.of(workspace), key=CreatedApiKey.of(created))


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its local `$ref`s replaced by the definitions (so it can sit inside OpenAPI)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _field(setting: WorkspaceSetting) -> Any:
    """A model field documenting the setting's schema; the values are checked by the service (with a fix)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(setting.type).json_schema()
    schema = _inline(schema, schema.get("$defs", {}))
    nullable = {
        "anyOf": [schema, {"type": "null"}],
        "description": setting.help,
        "examples": [setting.example],
    }
    return (Annotated[Any, WithJsonSchema(nullable)], Field(None, description=setting.help))


def make_router() -> APIRouter:
    """GET and PATCH /v1/workspaces/current, typed with the settings registered now."""
    fields = {name: _field(setting) for name, setting in registered_settings().items()}
    config = ConfigDict(extra="forbid")
    settings_model: Any = create_model("WorkspaceSettings", __config__=config, **fields)
    settings_model.__doc__ = "Every settable workspace setting; null means unset (the default applies)."

    class WorkspaceOut(WorkspaceSummary):
        """A workspace with its settings."""

        settings: settings_model

    class WorkspacePatch(BaseModel):
        """What to change: only the fields given change; a setting set to null is removed."""

        model_config = ConfigDict(extra="forbid")

        name: str | None = Field(None, min_length=1, max_length=200)
        timezone: str | None = Field(None, max_length=64, description="IANA timezone name.")
        settings: settings_model | None = None

    def show(workspace: Workspace) -> WorkspaceOut:
        summary = WorkspaceSummary.of(workspace).model_dump()
        return WorkspaceOut(**summary, settings=settings_model(**settings_view(workspace.settings or {})))

    current = APIRouter(tags=["workspaces"])

    @current.get("/v1/workspaces/current")
    def get_current(
        response: Response,
        caller: Caller = Depends(require(Action.WORKSPACE_READ)),
        ocma: Ocma = Depends(get_ocma),
    ) -> WorkspaceOut:
        """The caller's workspace: name, timezone and every settable setting; its version in the ETag header."""
        workspace = workspaces.get_workspace(ocma, caller.workspace_id)
        response.headers["ETag"] = workspaces.workspace_etag(workspace)
        return show(workspace)

    @current.patch("/v1/workspaces/current", responses=errors(412))
    def patch_current(
        body: WorkspacePatch,
        response: Response,
        if_match: str | None = IF_MATCH,
        caller: Caller = Depends(require(Action.WORKSPACE_CONFIGURE)),
        ocma: Ocma = Depends(get_ocma),
    ) -> WorkspaceOut:
        """Rename, change the timezone or set settings (admins); everything is checked before anything changes.
        With If-Match (the ETag of a GET), only that version is changed: 412 if it changed since."""
        changes = body.settings.model_dump(exclude_unset=True) if body.settings is not None else {}
        workspace = workspaces.change_workspace(
            ocma,
            caller.workspace_id,
            name=body.name,
            timezone=body.timezone,
            settings=changes,
            if_match=if_match,
        )
        response.headers["ETag"] = workspaces.workspace_etag(workspace)
        return show(workspace)

    return current
