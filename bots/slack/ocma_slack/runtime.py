"""The Slack runtime: one Bolt AsyncApp per OCMA context, its guards (known team, retries), and clients."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.web import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.app import Ocma
from ocma_core.app.workspaces import claim_once
from ocma_core.errors import ConfigError
from ocma_slack.config import BOT_SCOPES, SlackConfig

log = logging.getLogger(__name__)

# Slack re-sends an event it did not see acknowledged within 3 s three times (at once, after 1 minute, after
# 5 minutes, with the same event_id); a claim kept for an hour outlives every retry.
DEDUPE_SECONDS = 3600.0


def event_claim_key(body: dict[str, Any]) -> str | None:
    """The claim of an Events API delivery (same for every retry of it), or None for other requests."""
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return None
    return f"slack:event:{body.get('api_app_id') or ''}:{event_id}"


class SlackRuntime:
    """Bolt app + OCMA context + config; the listeners reach OCMA through it."""

    def __init__(self, ocma: Ocma, config: SlackConfig, *, socket: bool = False) -> None:
        problem = config.problem(socket=socket)
        if problem:
            raise ConfigError(problem, fix="See bots/slack/README.md.")
        self.ocma, self.config, self.socket = ocma, config, socket
        self.app = self._build_app()
        from ocma_slack import listeners

        listeners.register(self)

    def _build_app(self) -> AsyncApp:
        client = AsyncWebClient(token=self.config.bot_token or None, base_url=self.config.api_url)
        kwargs: dict[str, Any] = {
            "name": "ocma",
            "client": client,
            "signing_secret": self.config.signing_secret or None,
            # Signatures are always checked over HTTP; Socket Mode has no signatures (the app token
            # authenticates the WebSocket), and Bolt skips verification for socket-mode requests itself.
            "request_verification_enabled": not self.socket or bool(self.config.signing_secret),
        }
        if not self.config.single:  # single workspace: the client carries the bot token
            state_dir = Path(self.ocma.settings.data_dir) / "slack-oauth-state"
            from ocma_slack.installations import OcmaInstallationStore

            kwargs["oauth_settings"] = AsyncOAuthSettings(
                client_id=self.config.client_id,
                client_secret=self.config.client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=OcmaInstallationStore(self.ocma, self.config),
                installation_store_bot_only=True,
                state_store=FileOAuthStateStore(
                    expiration_seconds=600, base_dir=str(state_dir), client_id=self.config.client_id
                ),
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
            )
        app = AsyncApp(**kwargs)
        app.use(self._guard)
        return app

    async def _guard(self, context: Any, body: dict[str, Any], req: Any, next: Any) -> BoltResponse | None:
        """Drop anything from a Slack team not linked to OCMA, and every repeat of an event in any process."""
        workspace_id = await asyncio.to_thread(self.workspace_for, context)
        if workspace_id is None:
            return BoltResponse(status=200, body="")
        key = event_claim_key(body)
        if key is not None and not await asyncio.to_thread(claim_once, self.ocma, key, DEDUPE_SECONDS):
            log.info("Slack event %s already taken (retry %s)", body.get("event_id"), _retry_num(req))
            return BoltResponse(status=200, body="")  # acknowledged, so Slack stops re-sending it
        context["ocma_workspace_id"] = workspace_id
        await next()
        return None

    def workspace_for(self, context: Any) -> str | None:
        """The OCMA workspace of the request's team, or None (unknown team: do nothing)."""
        from ocma_slack import store

        team = context.get("team_id") or context.get("enterprise_id") or ""
        if self.config.single:
            result = context.get("authorize_result")
            own_team = getattr(result, "team_id", None)
            if own_team and team and team != own_team:
                return None
            return store.workspace_for_team(self.ocma, team) or store.configured_workspace(
                self.ocma, self.config
            )
        return store.workspace_for_team(self.ocma, team)

    def sync_client(self, workspace_id: str) -> WebClient | None:
        """A blocking WebClient with the workspace's bot token (for notifications outside requests)."""
        token = self.config.bot_token
        if not token:
            from ocma_slack import store

            for record in store.teams_of(self.ocma, workspace_id).values():
                if "installation" in record:
                    token = (
                        store.decrypt_installation(self.ocma, record["installation"]).get("bot_token") or ""
                    )
                    break
        return WebClient(token=token, base_url=self.config.api_url) if token else None


def _retry_num(req: Any) -> str:
    headers = getattr(req, "headers", None) or {}
    value = headers.get("x-slack-retry-num") or ["0"]
    return str(value[0] if isinstance(value, list | tuple) else value)


_runtimes: dict[tuple[int, bool], SlackRuntime] = {}
_lock = threading.Lock()


def runtime_for(ocma: Ocma, config: SlackConfig | None = None, *, socket: bool = False) -> SlackRuntime:
    """The runtime of this OCMA context in this mode (HTTP or Socket Mode), built on first use.

    The modes never share a runtime: an HTTP runtime always verifies signatures, a Socket Mode one may not.
    """
    with _lock:
        found = _runtimes.get((id(ocma), socket))
        if found is None or found.ocma is not ocma:
            found = SlackRuntime(ocma, config or SlackConfig.from_env(), socket=socket)
            _runtimes[(id(ocma), socket)] = found
        return found


def existing_for(ocma: Ocma) -> SlackRuntime | None:
    """A runtime already built for this OCMA context, in either mode."""
    with _lock:
        for (_, _socket), runtime in reversed(_runtimes.items()):
            if runtime.ocma is ocma:
                return runtime
        return None


def current() -> SlackRuntime | None:
    """The most recently built runtime, if any."""
    with _lock:
        return list(_runtimes.values())[-1] if _runtimes else None


def forget_all() -> None:
    """Drop every runtime (tests)."""
    with _lock:
        _runtimes.clear()
