"""Signed Slack requests in Slack's documented shapes (Events API, interactivity, slash commands)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from fake_slack import BOT_USER, TEAM_ID
from fastapi.testclient import TestClient
from httpx import Response
from slack_sdk.signature import SignatureVerifier

_ids = itertools.count(1)
SECRET = "test-signing-secret"


def send(
    web: TestClient, body: str, content_type: str, secret: str, headers: dict[str, str] | None = None
) -> Response:
    """POST a body to /slack/events signed like Slack does (v0 HMAC-SHA256 of `v0:ts:body`)."""
    ts = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return web.post(
        "/slack/events",
        content=body.encode(),
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            **(headers or {}),
        },
    )


def event(
    kind: str,
    user: str,
    text: str,
    channel: str = "C0GENERAL",
    team: str = TEAM_ID,
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An event_callback envelope around an app_mention or message event."""
    ts = f"{int(time.time())}.{next(_ids):06d}"
    inner: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        **extra,
    }
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A0TEST",
        "event": inner,
        "type": "event_callback",
        "event_id": f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{kind}-{team}-{channel}",
    }


def mention(user: str, text: str, **kw: Any) -> dict[str, Any]:
    """An app_mention event."""
    return event("app_mention", user, f"<@{BOT_USER}> {text}", **kw)


def block_action(
    user: str, action_id: str, value: str, channel: str, message: dict[str, Any]
) -> dict[str, Any]:
    """A block_actions payload for a button on a message."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0TEST",
        "token": "legacy",
        "team": {"id": TEAM_ID, "domain": "test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{next(_ids)}.trigger",
        "channel": {"id": channel, "name": "general"},
        "message": message,
        "state": {"values": {}},
        "response_url": "https://hooks.invalid/actions",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "ocma_approval",
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


def view_submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A view_submission payload for a modal the bot opened."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0TEST",
        "token": "legacy",
        "trigger_id": f"{next(_ids)}.trigger",
        "view": {
            **view,
            "id": "V0TEST",
            "team_id": TEAM_ID,
            "state": {"values": values},
            "hash": "1700000000.abcdef",
            "root_view_id": "V0TEST",
            "app_id": "A0TEST",
            "bot_id": "B0BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def interactive(web: TestClient, payload: dict[str, Any], secret: str) -> Response:
    """POST an interactivity payload (form-encoded `payload=<json>`)."""
    return send(web, urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", secret)


def command_form(
    user: str, text: str, response_base: str, channel: str = "C0GENERAL", team: str = TEAM_ID
) -> dict[str, str]:
    """The /ocma slash command's fields as Slack sends them (form-encoded over HTTP, JSON in Socket Mode)."""
    return {
        "token": "legacy",
        "team_id": team,
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/ocma",
        "text": text,
        "api_app_id": "A0TEST",
        "is_enterprise_install": "false",
        "response_url": f"{response_base}/response/{next(_ids)}",
        "trigger_id": f"{next(_ids)}.trigger",
    }


def command(
    web: TestClient, user: str, text: str, secret: str, response_base: str, channel: str = "C0GENERAL"
) -> Response:
    """POST the /ocma slash command as Slack sends it."""
    form = command_form(user, text, response_base, channel)
    return send(web, urlencode(form), "application/x-www-form-urlencoded", secret)


def envelope(
    kind: str,
    payload: dict[str, Any],
    *,
    accepts_response_payload: bool,
    retry_attempt: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, Any]:
    """A Socket Mode envelope (kind: events_api, slash_commands or interactive) with a fresh envelope_id."""
    wrapped: dict[str, Any] = {
        "envelope_id": str(uuid.uuid4()),
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
        "payload": payload,
    }
    if kind == "events_api":  # only Events API envelopes say whether they are a retry
        wrapped["retry_attempt"] = retry_attempt or 0
        wrapped["retry_reason"] = retry_reason or ""
    return wrapped


def events_envelope(body: dict[str, Any], retry_attempt: int = 0, retry_reason: str = "") -> dict[str, Any]:
    """An event_callback in a Socket Mode envelope; a retry repeats the payload with retry_attempt > 0."""
    return envelope(
        "events_api",
        body,
        accepts_response_payload=False,
        retry_attempt=retry_attempt,
        retry_reason=retry_reason,
    )
