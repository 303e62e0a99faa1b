"""Workspaces, their members and API keys, and once-only claims (e.g. an event handled once).

Part of the public app API (`ocma_core.app`): names here keep their meaning within a minor release."""

from __future__ import annotations

from ocma_core.services.members import add_member, list_members, member_by_external_id
from ocma_core.services.once import claim_once, release_once
from ocma_core.services.workspaces import (
    authenticate,
    change_setting,
    change_workspace,
    get_workspace,
    list_workspaces,
    resolve_workspace,
)

__all__ = [
    "add_member",
    "authenticate",
    "change_setting",
    "change_workspace",
    "claim_once",
    "get_workspace",
    "list_members",
    "list_workspaces",
    "member_by_external_id",
    "release_once",
    "resolve_workspace",
]
