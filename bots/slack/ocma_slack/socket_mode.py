"""Socket Mode: the Bolt app served over Slack's WebSocket (no public URL), with a way to stop it.

slack_bolt's AsyncSocketModeHandler (aiohttp) is built inside the running event loop: its client starts its
message-processing task on the loop that exists at construction time.

Reconnects are slack_sdk's: on Slack's `disconnect` message (`warning`, `refresh_requested`) it asks
apps.connections.open for a new URL and moves to it; a connection closed, cut or gone quiet is noticed within
a few `ping_interval`s and replaced the same way. One reason is not routine: `link_disabled` means Socket Mode
was turned off for the app, and slack_sdk would keep asking for a new URL every `ping_interval` seconds while
the bot hears nothing, so the runner stops instead and says why.

The same holds when apps.connections.open refuses the app-level token while the bot runs (the token was revoked,
the app uninstalled): slack_sdk logs the error and asks again every `ping_interval` seconds, forever. The handler
takes the Web API client it asks for URLs with (`web_client=`, a public parameter), so the runner gives it one
that reports such a refusal, and stops with the error and what to do. Other failures (network, HTTP 5xx,
`ratelimited`, `internal_error`) are left to slack_sdk's retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from ocma_core.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import WSMessage

    from ocma_slack.runtime import SlackRuntime

log = logging.getLogger(__name__)

PING_INTERVAL = 10.0  # slack_bolt's default: seconds between pings, and between reconnect attempts

# apps.connections.open errors that no retry can fix: the app-level token is gone, not Slack
# (https://docs.slack.dev/reference/methods/apps.connections.open)
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


def link_disabled() -> ConfigError:
    """The error run() ends with when Slack turns Socket Mode off for the app."""
    return ConfigError(
        "Slack turned Socket Mode off for this app (disconnect reason: link_disabled); the bot has stopped.",
        fix="Turn it back on under Settings → Socket Mode in the app's settings at https://api.slack.com/apps "
        "and restart `ocma slack --socket`, or use HTTP mode (`ocma serve` with the app's request URLs).",
    )


def app_token_refused(error: str) -> ConfigError:
    """The error run() ends with when Slack stops accepting the app-level token while the bot runs."""
    return ConfigError(
        f"Slack no longer accepts the app-level token (apps.connections.open: {error}), so the bot cannot "
        "reconnect; it has stopped.",
        fix="Create a new app-level token with the connections:write scope (Basic Information → App-Level Tokens "
        "in the app's settings at https://api.slack.com/apps; reinstall the app first if it was removed), set "
        "OCMA_SLACK_APP_TOKEN to it and restart `ocma slack --socket`.",
    )


def _api_error(exc: SlackApiError) -> str:
    """The `error` of a failed Web API call, or "" (an HTTP 5xx page has no JSON body)."""
    data = exc.response.data
    return str(data.get("error") or "") if isinstance(data, dict) else ""


class ConnectionsClient(AsyncWebClient):
    """The Web API client the Socket Mode client asks for URLs: tells `on_refused` when the token is refused.

    The error is still raised, so slack_sdk behaves as before; the runner stops it from retrying."""

    def __init__(self, base: AsyncWebClient, on_refused: Callable[[str], None]) -> None:
        super().__init__(
            base_url=base.base_url,
            timeout=base.timeout,
            ssl=base.ssl,
            proxy=base.proxy,
            headers=base.headers,
            logger=base.logger,
        )
        self.on_refused = on_refused

    async def apps_connections_open(self, *, app_token: str, **kwargs: Any) -> AsyncSlackResponse:
        """apps.connections.open, reporting a permanent refusal of the token before raising it."""
        try:
            return await super().apps_connections_open(app_token=app_token, **kwargs)
        except SlackApiError as exc:
            error = _api_error(exc)
            if error in TOKEN_REFUSED:
                self.on_refused(error)
            raise


class SocketModeRunner:
    """Connects the runtime's app over Socket Mode, serves until stop(), then disconnects."""

    def __init__(self, runtime: SlackRuntime, ping_interval: float = PING_INTERVAL) -> None:
        self.runtime = runtime
        self.ping_interval = ping_interval
        self.connected = threading.Event()
        self._failure: ConfigError | None = None
        self._stop_requested = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def run(self) -> None:
        """Handle Slack's envelopes until stop(); raise ConfigError if Slack disables the link or refuses the token."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stop_requested.is_set():
            return
        app_token = self.runtime.config.app_token
        web_client = ConnectionsClient(self.runtime.app.client, self._token_refused)
        handler = AsyncSocketModeHandler(
            self.runtime.app, app_token, web_client=web_client, ping_interval=self.ping_interval
        )
        handler.client.on_message_listeners.append(self._watch_disconnects)
        try:
            # Ask for the first WebSocket URL here so a wrong app token fails at once with a clear message
            # (the handler itself would retry forever); the handler connects to that URL.
            handler.client.wss_uri = await self._open_url(app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            self.connected.set()
            log.info("Connected to Slack over Socket Mode")
            await self._stop.wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            self.connected.clear()
        if self._failure is not None:
            raise self._failure

    async def _watch_disconnects(self, message: WSMessage) -> None:
        """Log Slack's `disconnect` messages; on `link_disabled`, end run() with the reason."""
        if not isinstance(message.data, str) or '"disconnect"' not in message.data:
            return  # an envelope: parsing it again here would be wasted work
        data = _json_object(message.data)
        if data.get("type") != "disconnect":
            return
        reason = str(data.get("reason", ""))
        if reason != "link_disabled":
            log.info("Slack asked for a new Socket Mode connection (%s); reconnecting", reason or "no reason")
            return
        self._fail(link_disabled())

    def _token_refused(self, error: str) -> None:
        """apps.connections.open refused the app-level token on a reconnect: end run() with the reason."""
        self._fail(app_token_refused(error))

    def _fail(self, failure: ConfigError) -> None:
        if self._failure is not None:
            return  # the first reason is the one to report
        self._failure = failure
        log.error("%s", failure)  # the message and what to do
        if self._stop is not None:
            self._stop.set()

    async def _open_url(self, app_token: str) -> str:
        try:
            response = await self.runtime.app.client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            error = exc.response.get("error")
            raise ConfigError(
                f"Slack refused the Socket Mode connection: {error}.",
                fix="Set OCMA_SLACK_APP_TOKEN to an app-level token (xapp-...) with the connections:write "
                "scope, and turn on Socket Mode in the app settings.",
            ) from None
        return str(response["url"])

    def stop(self) -> None:
        """Ask run() to disconnect and return (safe from any thread)."""
        self._stop_requested.set()
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # run() has already ended and its loop is closed
                self._loop.call_soon_threadsafe(self._stop.set)


def _json_object(data: str) -> dict[str, Any]:
    """A WebSocket text frame's JSON object, or {} for anything else."""
    if not data.startswith("{"):
        return {}
    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def serve(runtime: SlackRuntime) -> None:
    """Serve over Socket Mode until interrupted (Ctrl-C)."""
    runner = SocketModeRunner(runtime)
    try:
        asyncio.run(runner.run())
    except KeyboardInterrupt:
        log.info("Socket Mode stopped")
