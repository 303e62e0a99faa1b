"""Settings of the Slack bot, read from the environment (OCMA_SLACK_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_API_URL = "https://slack.com/api/"

# Bot scopes the features need (the manifests list the same). The thread status indicator
# (assistant.threads.setStatus) needs only chat:write since Slack's 2026-03-05 change, which also lets it
# work in channel threads; assistant:write is on its way out for that method.
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "im:history",
    "im:read",
    "im:write",
    "users:read",
)


@dataclass(frozen=True)
class SlackConfig:
    """How the bot reaches Slack: one workspace by token, or many by OAuth installation."""

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    api_url: str = DEFAULT_API_URL
    workspace: str = ""  # the OCMA workspace (name or id) Slack maps to
    channel: str = ""  # notification channel id
    client_id: str = ""
    client_secret: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackConfig:
        """Read OCMA_SLACK_* variables."""
        source = os.environ if env is None else env

        def get(name: str) -> str:
            return source.get(f"OCMA_SLACK_{name}", "").strip()

        api = get("API_URL") or DEFAULT_API_URL
        return cls(
            bot_token=get("BOT_TOKEN"),
            signing_secret=get("SIGNING_SECRET"),
            app_token=get("APP_TOKEN"),
            api_url=api if api.endswith("/") else api + "/",
            workspace=get("WORKSPACE"),
            channel=get("CHANNEL"),
            client_id=get("CLIENT_ID"),
            client_secret=get("CLIENT_SECRET"),
        )

    @property
    def single(self) -> bool:
        """True in single-workspace mode (a bot token is configured)."""
        return bool(self.bot_token)

    @property
    def oauth(self) -> bool:
        """True in multi-workspace OAuth mode."""
        return not self.bot_token and bool(self.client_id and self.client_secret)

    def problem(self, *, socket: bool = False) -> str | None:
        """What is missing to run, or None."""
        if not (self.single or self.oauth):
            return (
                "Set OCMA_SLACK_BOT_TOKEN (one workspace) or OCMA_SLACK_CLIENT_ID and "
                "OCMA_SLACK_CLIENT_SECRET (OAuth installs)."
            )
        if socket and not self.app_token:
            return "Socket Mode needs an app-level token: set OCMA_SLACK_APP_TOKEN (xapp-...)."
        if not socket and not self.signing_secret:
            return "Set OCMA_SLACK_SIGNING_SECRET: every HTTP request from Slack is verified with it."
        return None
