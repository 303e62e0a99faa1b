"""Bolt's async installation store backed by OCMA's database, tokens encrypted by ocma.vault.

slack_sdk's SQLAlchemy store keeps tokens in plaintext, so installations live as vault ciphertext in
Workspace.settings["slack"]["teams"][team_id]["installation"] (no new table, no migration).
"""

from __future__ import annotations

import asyncio
from logging import Logger, getLogger
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from ocma_core.app import Ocma
from ocma_core.app.models import utcnow
from ocma_slack import store
from ocma_slack.config import SlackConfig

_INSTALLATION_FIELDS = set(Installation.__init__.__code__.co_varnames[1:])


class OcmaInstallationStore(AsyncInstallationStore):
    """Installations per Slack team, encrypted, in the linked OCMA workspace's settings."""

    def __init__(self, ocma: Ocma, config: SlackConfig) -> None:
        self.ocma, self.config = ocma, config
        self._logger = getLogger(__name__)

    @property
    def logger(self) -> Logger:
        """The store's logger."""
        return self._logger

    async def async_save(self, installation: Installation) -> None:
        """Store the installation in the workspace linked to its team (or OCMA_SLACK_WORKSPACE)."""
        await asyncio.to_thread(self._save, installation)

    def _save(self, installation: Installation) -> None:
        team = installation.enterprise_id if installation.is_enterprise_install else installation.team_id
        team = team or ""
        workspace_id = store.workspace_for_team(self.ocma, team) or store.configured_workspace(
            self.ocma, self.config
        )
        if workspace_id is None:
            raise RuntimeError("No OCMA workspace to link this Slack team to: set OCMA_SLACK_WORKSPACE.")
        record = {
            "installation": store.encrypt_installation(self.ocma, installation.to_dict()),
            "team_name": installation.team_name or "",
            "bot_user_id": installation.bot_user_id or "",
            "installed_at": utcnow().isoformat(),
        }
        store.link_team(self.ocma, workspace_id, team, record)

    async def async_save_bot(self, bot: Bot) -> None:
        """Bots are saved with their installation (async_save); nothing else to keep."""

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The stored installation of this team (or org), decrypted."""
        key = (enterprise_id if is_enterprise_install else team_id) or ""
        data = await asyncio.to_thread(self._load, key)
        if data is None:
            return None
        return Installation(**{k: v for k, v in data.items() if k in _INSTALLATION_FIELDS})

    def _load(self, key: str) -> dict[str, Any] | None:
        record = store.team_record(self.ocma, key)
        if not record or "installation" not in record:
            return None
        return store.decrypt_installation(self.ocma, record["installation"])

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The bot of this team's installation."""
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return installation.to_bot() if installation and installation.bot_token else None

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget the team's installation."""
        await asyncio.to_thread(store.unlink_team, self.ocma, (team_id or enterprise_id or ""))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the team's installation (the bot token is part of it)."""
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)
