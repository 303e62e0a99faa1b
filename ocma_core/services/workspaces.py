"""Workspaces, members and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, select

from ocma_core.context import Ocma
from ocma_core.crypto import api_key_id, hash_api_key, new_api_key, same_hash
from ocma_core.db.models import ApiKey, Member, Role, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError, ValidationFailed


def check_timezone(name: str) -> str:
    """The IANA timezone name, or a ValidationFailed naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Unknown timezone {name!r}.", fix="Use an IANA name such as Europe/Berlin or America/New_York."
        ) from None
    return name


def create_workspace(ocma: Ocma, name: str, *, timezone: str = "UTC", owner_email: str = "") -> Workspace:
    """Create a workspace (and its owner member when an email is given)."""
    if not name.strip():
        raise ValidationFailed("A workspace needs a name.")
    workspace = Workspace(name=name.strip(), timezone=check_timezone(timezone))
    with ocma.session() as session:
        session.add(workspace)
        session.flush()
        if owner_email:
            session.add(Member(workspace_id=workspace.id, email=owner_email, role=Role.OWNER))
    return workspace


def list_workspaces(ocma: Ocma) -> list[Workspace]:
    """Every workspace."""
    with ocma.session() as session:
        return list(session.exec(select(Workspace).order_by(col(Workspace.created_at))))


def get_workspace(ocma: Ocma, workspace_id: str) -> Workspace:
    """A workspace by id."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(
                f"No workspace {workspace_id!r}.", fixes={"cli": "List them with `ocma workspaces list`."}
            )
        return workspace


def resolve_workspace(ocma: Ocma, ref: str | None) -> Workspace:
    """A workspace by id or name; the only one when `ref` is None and there is exactly one."""
    workspaces = list_workspaces(ocma)
    if ref is None:
        if len(workspaces) == 1:
            return workspaces[0]
        if not workspaces:
            raise NotFoundError("There is no workspace yet.", fix="Run `ocma init` first.")
        raise ValidationFailed(
            "Several workspaces exist.",
            fix="Say which workspace.",
            fixes={"cli": "Pick one with --workspace NAME (see `ocma workspaces list`)."},
        )
    for workspace in workspaces:
        if ref in (workspace.id, workspace.name):
            return workspace
    raise NotFoundError(
        f"No workspace {ref!r}.",
        fix="Check the workspace's name or id.",
        fixes={"cli": "Check the name with `ocma workspaces list`."},
    )


def update_settings(ocma: Ocma, workspace_id: str, **changes: object) -> Workspace:
    """Merge `changes` into a workspace's settings."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"No workspace {workspace_id!r}.")
        workspace.settings = {**workspace.settings, **changes}
        session.add(workspace)
        return workspace


@dataclass
class CreatedKey:
    """A new API key: `key` is shown once and never stored."""

    key: str
    record: ApiKey


def create_api_key(ocma: Ocma, workspace_id: str, *, name: str = "", role: Role = Role.EDITOR) -> CreatedKey:
    """Create an API key; only its hash is stored."""
    key, key_id, key_hash = new_api_key()
    record = ApiKey(workspace_id=workspace_id, key_id=key_id, key_hash=key_hash, name=name, role=role)
    with ocma.session() as session:
        if session.get(Workspace, workspace_id) is None:
            raise NotFoundError(f"No workspace {workspace_id!r}.")
        session.add(record)
    return CreatedKey(key=key, record=record)


def authenticate(ocma: Ocma, key: str) -> ApiKey | None:
    """The active API key record matching `key`, or None."""
    key_id = api_key_id(key)
    if key_id is None:
        return None
    with ocma.session() as session:
        record = session.exec(select(ApiKey).where(ApiKey.key_id == key_id)).first()
        if (
            record is None
            or record.revoked_at is not None
            or not same_hash(record.key_hash, hash_api_key(key))
        ):
            return None
        now = utcnow()
        if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
            record.last_used_at = now
            session.add(record)
        return record


def revoke_api_key(ocma: Ocma, workspace_id: str, key_id: str) -> None:
    """Revoke a key of this workspace."""
    with ocma.session() as session:
        record = session.exec(
            select(ApiKey).where(ApiKey.key_id == key_id, ApiKey.workspace_id == workspace_id)
        ).first()
        if record is None:
            raise NotFoundError(f"No API key {key_id!r} in this workspace.")
        record.revoked_at = utcnow()
        session.add(record)


def list_api_keys(ocma: Ocma, workspace_id: str) -> list[ApiKey]:
    """Keys of a workspace (hashes are never shown by callers)."""
    with ocma.session() as session:
        return list(session.exec(select(ApiKey).where(ApiKey.workspace_id == workspace_id)))
