"""Socket Mode: the Bolt app served over Slack's WebSocket (no public URL), with a way to stop it.

slack_bolt's AsyncSocketModeHandler (aiohttp) is built inside the running event loop: its client starts its
message-processing task on the loop that exists at construction time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from ocma_core.errors import ConfigError

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

log = logging.getLogger(__name__)


class SocketModeRunner:
    """Connects the runtime's app over Socket Mode, serves until stop(), then disconnects."""

    def __init__(self, runtime: SlackRuntime) -> None:
        self.runtime = runtime
        self.connected = threading.Event()
        self._stop_requested = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def run(self) -> None:
        """Open the connection and handle Slack's envelopes until stop() is called."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self._stop_requested.is_set():
            return
        app_token = self.runtime.config.app_token
        handler = AsyncSocketModeHandler(self.runtime.app, app_token)
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
            self._loop.call_soon_threadsafe(self._stop.set)


def serve(runtime: SlackRuntime) -> None:
    """Serve over Socket Mode until interrupted (Ctrl-C)."""
    runner = SocketModeRunner(runtime)
    try:
        asyncio.run(runner.run())
    except KeyboardInterrupt:
        log.info("Socket Mode stopped")
