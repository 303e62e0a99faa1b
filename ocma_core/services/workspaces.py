"""Workspaces, members and API keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import update
from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.crypto import api_key_id, hash_api_key, new_api_key, same_hash
from ocma_core.db.models import ROLE_RANK, ApiKey, Member, Role, Workspace
from ocma_core.db.types import utcnow
from ocma_core.errors import NotFoundError, PermissionDenied, PreconditionFailed, ValidationFailed
from ocma_core.etags import if_match_matches, json_etag


def check_timezone(name: str) -> str:
    """The IANA timezone name, or a ValidationFailed naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Unknown timezone {name!r}.", fix="Use an IANA name such as Europe/Berlin or America/New_York."
        ) from None
    return name


def check_name(name: str) -> str:
    """A workspace name, stripped; ValidationFailed when empty or longer than 200 characters."""
    value = name.strip()
    if not value or len(value) > 200 or "\x00" in value:
        raise ValidationFailed(
            "A workspace needs a name of 1 to 200 characters (no NUL).",
            problems=[{"field": "name", "message": "1 to 200 characters", "fix": "e.g. Acme marketing"}],
            fix="Give a name such as Acme marketing.",
        )
    return value


def create_workspace(ocma: Ocma, name: str, *, timezone: str = "UTC", owner_email: str = "") -> Workspace:
    """Create a workspace (and its owner member when an email is given)."""
    from ocma_core.services.members import check_email

    workspace = Workspace(name=check_name(name), timezone=check_timezone(timezone))
    email = check_email(owner_email)
    with ocma.session() as session:
        session.add(workspace)
        session.flush()
        if email:
            session.add(Member(workspace_id=workspace.id, email=email, role=Role.OWNER))
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
    """Merge `changes` into a workspace's settings as they are (internal; people use change_workspace)."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"No workspace {workspace_id!r}.")
        workspace.settings = {**workspace.settings, **changes}
        session.add(workspace)
        return workspace


def workspace_etag(workspace: Workspace) -> str:
    """The workspace's version as an HTTP entity tag: a hash of its name, timezone and settings."""
    return json_etag(
        {"name": workspace.name, "timezone": workspace.timezone, "settings": workspace.settings or {}}
    )


def _check_version(workspace: Workspace, if_match: str | None) -> None:
    if if_match is None:
        return
    current = workspace_etag(workspace)
    if not if_match_matches(current, if_match):
        raise PreconditionFailed(
            f"The workspace was changed since you read it (its etag is now {current}, not {if_match}); "
            "nothing was changed.",
            fix="Read the workspace again, redo your change on what it holds now and send it with that etag.",
            fixes={"api": "GET /v1/workspaces/current, redo the change, PATCH it with If-Match: <its ETag>."},
        )


def _locked_workspace(session: Session, workspace_id: str) -> Workspace:
    """The workspace's row, locked for this transaction. A write first: it locks the row on PostgreSQL and
    takes SQLite's write lock, so the read after it is the latest and no other writer gets in between."""
    session.execute(update(Workspace).where(col(Workspace.id) == workspace_id).values(name=Workspace.name))
    workspace = session.get(Workspace, workspace_id, populate_existing=True)
    if workspace is None:
        raise NotFoundError(f"No workspace {workspace_id!r}.", fix="List them with `ocma workspaces list`.")
    return workspace


def change_workspace(
    ocma: Ocma,
    workspace_id: str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    settings: Mapping[str, Any] | None = None,
    if_match: str | None = None,
) -> Workspace:
    """Rename, change the timezone and set registered settings (each validated first; all or nothing).

    With `if_match` (etags as in HTTP If-Match), only if the workspace is still that version: PreconditionFailed
    otherwise, so a change made on what someone read never overwrites another's unseen."""
    from ocma_core.workspace_settings import apply_changes, validate_changes

    new_name = check_name(name) if name is not None else None
    new_zone = check_timezone(timezone) if timezone is not None else None
    validated = validate_changes(settings or {})
    with ocma.session() as session:
        workspace = _locked_workspace(session, workspace_id)
        _check_version(workspace, if_match)
        if new_name is not None:
            workspace.name = new_name
        if new_zone is not None:
            workspace.timezone = new_zone
        if validated:
            workspace.settings = apply_changes(workspace.settings or {}, validated)
        session.add(workspace)
        return workspace


def change_setting(ocma: Ocma, workspace_id: str, name: str, change: Callable[[Any], Any]) -> Any:
    """Read-modify-write one registered setting atomically: `change(current)` returns the new value (validated
    like any setting; None unsets it) while the workspace's row is locked, so concurrent changes apply one
    after the other and none is lost. What was stored."""
    from ocma_core.workspace_settings import apply_changes, registered_settings, validate_changes

    setting = registered_settings()[name]
    with ocma.session() as session:
        workspace = _locked_workspace(session, workspace_id)
        validated = validate_changes({name: change(setting.read(workspace.settings or {}))})
        workspace.settings = apply_changes(workspace.settings or {}, validated)
        session.add(workspace)
        return validated[name]


def describe_workspace(workspace: Workspace) -> dict[str, Any]:
    """Id, name, timezone and every settable setting (None when unset), as the API shows them."""
    from ocma_core.workspace_settings import settings_view

    return {
        "id": workspace.id,
        "name": workspace.name,
        "timezone": workspace.timezone,
        "created_at": workspace.created_at.isoformat(),
        "settings": settings_view(workspace.settings or {}),
    }


@dataclass
class CreatedKey:
    """A new API key: `key` is shown once and never stored."""

    key: str
    record: ApiKey


def create_api_key(
    ocma: Ocma, workspace_id: str, *, name: str = "", role: Role = Role.EDITOR, by: Role | None = None
) -> CreatedKey:
    """Create an API key; only its hash is stored. `by` (the asking key's role) may not mint a higher role."""
    if by is not None and ROLE_RANK[role] > ROLE_RANK[by]:
        raise PermissionDenied(
            f"A key with the {by.value} role cannot create one with the {role.value} role: nobody mints a "
            "key above their own role.",
            fix=f"Ask for the {by.value} role or lower, or have an owner create it.",
        )
    if len(name) > 200 or "\x00" in name:
        raise ValidationFailed(
            "A key name has at most 200 characters (no NUL).",
            problems=[{"field": "name", "message": "longer than 200 characters", "fix": "Shorten it."}],
        )
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


def revoke_api_key(ocma: Ocma, workspace_id: str, key_id: str, *, by: Role | None = None) -> ApiKey:
    """Revoke a key of this workspace (again is harmless); `by` may not revoke a key above its own role."""
    with ocma.session() as session:
        record = None
        if "\x00" not in key_id:  # no key id has one, and PostgreSQL refuses it in a query
            query = select(ApiKey).where(ApiKey.key_id == key_id, ApiKey.workspace_id == workspace_id)
            record = session.exec(query).first()
        if record is None:
            raise NotFoundError(
                f"No API key {key_id!r} in this workspace.", fix="List the key ids with `ocma apikeys list`."
            )
        if by is not None and ROLE_RANK[record.role] > ROLE_RANK[by]:
            raise PermissionDenied(
                f"A key with the {by.value} role cannot revoke one with the {record.role.value} role.",
                fix="Ask an owner to revoke it.",
            )
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            session.add(record)
        return record


def list_api_keys(ocma: Ocma, workspace_id: str) -> list[ApiKey]:
    """Keys of a workspace (hashes are never shown by callers)."""
    with ocma.session() as session:
        query = select(ApiKey).where(ApiKey.workspace_id == workspace_id)
        return list(session.exec(query.order_by(col(ApiKey.created_at), col(ApiKey.id))))
