"""Slack teams and people in OCMA's database: which OCMA workspace a team maps to, which member a Slack user is,
and the OAuth installations (tokens encrypted with OCMA's vault, kept in Workspace.settings["slack"])."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlmodel import select

from ocma_core import WorkspaceSetting, permissions
from ocma_core.app import Ocma
from ocma_core.app.models import Member, Role, Workspace
from ocma_core.app.workspaces import member_by_external_id, resolve_workspace
from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack.config import SlackConfig

CHANNEL_SETTING = WorkspaceSetting(
    "slack_channel",
    Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,20}$")],
    "The Slack channel for notices and the weekly report (overrides OCMA_SLACK_CHANNEL).",
    example="C0123ABC",
    fix="Use the channel id: in Slack open the channel's details → About → Channel ID (e.g. C0123ABC), and "
    "invite the OCMA app to that channel.",
    path=("slack", "channel"),
)


def slack_settings(workspace: Workspace) -> dict[str, Any]:
    """The workspace's `slack` settings (teams, channel)."""
    value = workspace.settings.get("slack")
    return dict(value) if isinstance(value, dict) else {}


def configured_workspace(ocma: Ocma, config: SlackConfig) -> str | None:
    """The OCMA workspace named by OCMA_SLACK_WORKSPACE (or the only one), or None."""
    try:
        return resolve_workspace(ocma, config.workspace or None).id
    except OcmaError:
        return None


def workspace_for_team(ocma: Ocma, team_id: str) -> str | None:
    """The OCMA workspace a Slack team (or Enterprise Grid org) is linked to, or None."""
    if not team_id:
        return None
    with ocma.session() as session:
        for workspace in session.exec(select(Workspace)):
            if team_id in slack_settings(workspace).get("teams", {}):
                return workspace.id
    return None


def link_team(ocma: Ocma, workspace_id: str, team_id: str, record: dict[str, Any]) -> None:
    """Link a team to a workspace, storing `record` (already encrypted where secret) under its id."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id, with_for_update=True)
        if workspace is None:
            return
        slack = slack_settings(workspace)
        teams = dict(slack.get("teams", {}))
        teams[team_id] = {**teams.get(team_id, {}), **record}
        workspace.settings = {**workspace.settings, "slack": {**slack, "teams": teams}}
        session.add(workspace)


def unlink_team(ocma: Ocma, team_id: str) -> None:
    """Forget a team's installation (after an uninstall)."""
    with ocma.session() as session:
        for workspace in session.exec(select(Workspace)):
            slack = slack_settings(workspace)
            teams = dict(slack.get("teams", {}))
            if teams.pop(team_id, None) is not None:
                workspace.settings = {**workspace.settings, "slack": {**slack, "teams": teams}}
                session.add(workspace)


def team_record(ocma: Ocma, team_id: str) -> dict[str, Any] | None:
    """The stored record of a team (installation still encrypted)."""
    with ocma.session() as session:
        for workspace in session.exec(select(Workspace)):
            record = slack_settings(workspace).get("teams", {}).get(team_id)
            if record is not None:
                return dict(record)
    return None


def teams_of(ocma: Ocma, workspace_id: str) -> dict[str, dict[str, Any]]:
    """The Slack teams linked to a workspace."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        return dict(slack_settings(workspace).get("teams", {})) if workspace else {}


def notification_channel(ocma: Ocma, workspace_id: str, config: SlackConfig) -> str:
    """Where notices go: the workspace's settings["slack"]["channel"], else OCMA_SLACK_CHANNEL."""
    with ocma.session() as session:
        workspace = session.get(Workspace, workspace_id)
        channel = slack_settings(workspace).get("channel") if workspace else None
    return str(channel or config.channel)


def member_for(ocma: Ocma, workspace_id: str, slack_user: str) -> Member | None:
    """The OCMA member whose external_ids["slack"] is this Slack user id."""
    return member_by_external_id(ocma, workspace_id, "slack", slack_user) if slack_user else None


def can(member: Member | None, action: Action) -> bool:
    """True when the member may do `action` from Slack (ocma_core.permissions, the check every surface uses;
    Slack keeps retrying and deleting published posts to admins). A stranger (None) may do nothing."""
    if not isinstance(action, Action):  # a bare Role from code written before the shared check
        raise TypeError(f"store.can takes an Action (ocma_core.permissions), not {action!r}")
    return permissions.allowed(member.role if member is not None else None, action, "slack")


def least_role(action: Action) -> Role:
    """The least role that may do `action` from Slack."""
    return permissions.least_role(action, "slack")


def encrypt_installation(ocma: Ocma, data: dict[str, Any]) -> str:
    """An installation's dict (tokens included) as vault ciphertext."""
    return ocma.vault.encrypt(json.dumps(data, default=_plain))


def decrypt_installation(ocma: Ocma, ciphertext: str) -> dict[str, Any]:
    """The installation dict back from vault ciphertext."""
    data: dict[str, Any] = json.loads(ocma.vault.decrypt(ciphertext))
    return data


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot store {type(value).__name__}")
