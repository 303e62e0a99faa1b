"""Members of a workspace: add, change role, link to Slack (external ids), remove.

`by` is the role of whoever asks (an API key's role); None is the local operator at the `ocma` command line,
who may do anything. Nobody grants a role above their own or touches a member above them, and a workspace
always keeps at least one owner once it has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from ocma_core.context import Ocma
from ocma_core.db.models import ROLE_RANK, Member, Role, Workspace
from ocma_core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationFailed

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
EXTERNAL_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
SLACK_FIX = (
    "Use the Slack member id: in Slack open the person's profile → ⋮ → Copy member ID (e.g. U0123ABC)."
)


def check_text(field: str, value: str) -> str:
    """`value` unless it holds a NUL character (no database column takes one)."""
    if "\x00" in value:
        raise _invalid(field, "contains a NUL character", "Remove the NUL (\\u0000) character.")
    return value


def check_email(email: str | None) -> str | None:
    """The email, stripped (None or empty: no email); ValidationFailed naming the field otherwise."""
    value = check_text("email", (email or "").strip())
    if not value:
        return None
    if len(value) > 320 or not EMAIL.fullmatch(value):
        raise ValidationFailed(
            f"{value!r} is not an email address.",
            problems=[{"field": "email", "message": "not an email address", "fix": "e.g. ana@example.com"}],
            fix="Give an address like ana@example.com.",
        )
    return value


def check_external_ids(ids: Mapping[str, Any]) -> dict[str, str | None]:
    """External ids ({"slack": "U0123ABC"}) checked; a None value means remove that id."""
    out: dict[str, str | None] = {}
    for kind, raw in ids.items():
        field = f"external_ids.{kind}"
        if not EXTERNAL_KIND.fullmatch(str(kind)):
            raise _invalid(field, "not a valid id kind", "Use a short lowercase name such as slack.")
        if raw is None or raw == "":
            out[kind] = None
            continue
        value = check_text(field, str(raw).strip())
        if not value or len(value) > 255:
            raise _invalid(
                field, "must have 1 to 255 characters", "Give the id as the other system shows it."
            )
        if kind == "slack" and not SLACK_USER.fullmatch(value):
            raise _invalid(field, f"{value!r} is not a Slack member id", SLACK_FIX)
        out[kind] = value
    return out


def _invalid(field: str, message: str, fix: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}.", problems=[{"field": field, "message": message, "fix": fix}], fix=fix
    )


def may_grant(by: Role | None, role: Role) -> None:
    """PermissionDenied unless `by` manages members and `role` is not above it."""
    if by is None:
        return
    if ROLE_RANK[by] < ROLE_RANK[Role.ADMIN]:
        raise PermissionDenied(
            f"Managing members needs the admin role; this caller is {by.value}.",
            fix="Use an admin or owner API key.",
        )
    if ROLE_RANK[role] > ROLE_RANK[by]:
        raise PermissionDenied(
            f"The {by.value} role cannot give or change the {role.value} role (nobody grants a role above "
            "their own).",
            fix="Ask an owner to do it.",
        )


def list_members(ocma: Ocma, workspace_id: str) -> list[Member]:
    """Members of a workspace, oldest first."""
    with ocma.session() as session:
        query = select(Member).where(Member.workspace_id == workspace_id)
        return list(session.exec(query.order_by(col(Member.created_at), col(Member.id))))


def find_member(session: Session, workspace_id: str, ref: str) -> Member:
    """A member by id, email or external id (e.g. a Slack member id); NotFoundError otherwise."""
    members = list(session.exec(select(Member).where(Member.workspace_id == workspace_id)))
    ref = ref.strip()
    by_id = [m for m in members if m.id == ref]
    by_email = [m for m in members if (m.email or "").casefold() == ref.casefold()]
    by_external = [m for m in members if ref in (m.external_ids or {}).values()]
    for found in (by_id, by_email, by_external):
        if len(found) == 1:
            return found[0]
        if found:
            raise ConflictError(f"{ref!r} matches several members.", fix="Use the member id.")
    raise NotFoundError(f"No member {ref!r} in this workspace.", fix="List them with `ocma members list`.")


def member_by_external_id(ocma: Ocma, workspace_id: str, kind: str, value: str) -> Member | None:
    """The member whose external_ids[kind] is `value` (e.g. a Slack user), or None."""
    with ocma.session() as session:
        for member in session.exec(select(Member).where(Member.workspace_id == workspace_id)):
            if (member.external_ids or {}).get(kind) == value:
                return member
    return None


def _lock_workspace(session: Session, workspace_id: str) -> Workspace:
    """The workspace row, locked until commit: member changes of one workspace run one at a time."""
    workspace = session.get(Workspace, workspace_id, with_for_update=True)
    if workspace is None:
        raise NotFoundError(f"No workspace {workspace_id!r}.", fix="List them with `ocma workspaces list`.")
    return workspace


def _others(session: Session, workspace_id: str, member_id: str) -> list[Member]:
    query = select(Member).where(Member.workspace_id == workspace_id, Member.id != member_id)
    return list(session.exec(query))


def _check_unique(others: list[Member], email: str | None, ids: Mapping[str, str | None]) -> None:
    for other in others:
        who = other.email or other.id
        if email and (other.email or "").casefold() == email.casefold():
            raise ConflictError(
                f"{other.email} is already a member ({other.role.value}).",
                fix=f"Change their role with `ocma members set-role {other.email} ROLE`.",
            )
        for kind, value in ids.items():
            if value is not None and (other.external_ids or {}).get(kind) == value:
                raise ConflictError(
                    f"The {kind} id {value} already belongs to member {who}.",
                    fix=f"Remove it there first: `ocma members link {who} --{kind} ''`.",
                )


def add_member(
    ocma: Ocma,
    workspace_id: str,
    *,
    email: str | None = None,
    name: str = "",
    role: Role = Role.EDITOR,
    external_ids: Mapping[str, Any] | None = None,
    by: Role | None = None,
) -> Member:
    """Add a member known by an email, an external id (e.g. `{"slack": "U0123ABC"}`) or both."""
    may_grant(by, role)
    address = check_email(email)
    ids = {k: v for k, v in check_external_ids(external_ids or {}).items() if v is not None}
    if address is None and not ids:
        raise ValidationFailed(
            "A member needs an email or an external id.",
            problems=[{"field": "email", "message": "missing", "fix": "Give --email or --slack."}],
            fix="e.g. `ocma members add --email ana@example.com` or `ocma members add --slack U0123ABC`.",
        )
    if len(check_text("name", name)) > 200:
        raise _invalid("name", "longer than 200 characters", "Shorten the name.")
    with ocma.session() as session:
        _lock_workspace(session, workspace_id)
        _check_unique(_others(session, workspace_id, ""), address, ids)
        member = Member(
            workspace_id=workspace_id, email=address, name=name.strip(), role=role, external_ids=ids
        )
        session.add(member)
        return member


def _guard_last_owner(session: Session, member: Member, new_role: Role | None) -> None:
    """ConflictError when the change would leave the workspace without an owner."""
    if member.role is not Role.OWNER or new_role is Role.OWNER:
        return
    owners = [m for m in _others(session, member.workspace_id, member.id) if m.role is Role.OWNER]
    if not owners:
        who = member.email or member.id
        doing = "removed" if new_role is None else f"made {new_role.value}"
        raise ConflictError(
            f"{who} is the only owner of this workspace and cannot be {doing}.",
            fix="Make another member owner first: `ocma members set-role OTHER owner`.",
        )


def update_member(
    ocma: Ocma,
    workspace_id: str,
    ref: str,
    *,
    role: Role | None = None,
    name: str | None = None,
    external_ids: Mapping[str, Any] | None = None,
    by: Role | None = None,
) -> Member:
    """Change a member's role, name or external ids (merged; a None id removes it)."""
    ids = check_external_ids(external_ids or {})
    if name is not None and len(check_text("name", name)) > 200:
        raise _invalid("name", "longer than 200 characters", "Shorten the name.")
    with ocma.session() as session:
        _lock_workspace(session, workspace_id)
        member = find_member(session, workspace_id, ref)
        may_grant(by, member.role)  # nobody changes a member above them
        if role is not None:
            may_grant(by, role)
            _guard_last_owner(session, member, role)
            member.role = role
        if name is not None:
            member.name = name.strip()
        if ids:
            _check_unique(_others(session, workspace_id, member.id), None, ids)
            merged = {**(member.external_ids or {}), **ids}
            member.external_ids = {k: v for k, v in merged.items() if v is not None}
        session.add(member)
        return member


def remove_member(ocma: Ocma, workspace_id: str, ref: str, *, by: Role | None = None) -> Member:
    """Remove a member (never the only owner); returns the removed member."""
    with ocma.session() as session:
        _lock_workspace(session, workspace_id)
        member = find_member(session, workspace_id, ref)
        may_grant(by, member.role)
        _guard_last_owner(session, member, None)
        session.delete(member)
        return member
