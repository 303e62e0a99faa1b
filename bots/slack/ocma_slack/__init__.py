"""OCMA for Slack: chat with the OCMA agent, approve posts with a click, get notified.

The core never imports this package; it is found through the `ocma` entry point group. Importing it is cheap:
Bolt, the agent and the database load only when a request, command or event needs them.
"""

from __future__ import annotations

from typing import Any

from ocma_core import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_routes(router: Any) -> None:
    """Mount /slack/events, /slack/install and /slack/oauth_redirect."""
    from ocma_slack.routes import router as slack_router

    router.include_router(slack_router)


@hookimpl
def register_settings(register: Any) -> None:
    """Make the notification channel settable: `ocma workspaces set --slack-channel C0123ABC`."""
    from ocma_slack.store import CHANNEL_SETTING

    register(CHANNEL_SETTING)


@hookimpl
def on_event(event: Any, ocma: Any) -> None:
    """Post published / failed / deleted / needs-reconnect notices and the weekly report to the channel."""
    from ocma_slack.notify import send_event

    send_event(event.kind, event.workspace_id, dict(event.payload), ocma)
