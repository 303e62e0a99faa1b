"""Mentions, direct messages and thread replies go to the OCMA agent; a Slack thread is one conversation."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.permissions import Action
from ocma_slack import store
from ocma_slack.cards import approval_card, split_text
from ocma_slack.postview import load_post_view

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
WORKING = "is working on it…"


def thread_key(team: str, channel: str, thread_ts: str) -> str:
    """The agent conversation of a Slack thread."""
    return f"slack:{team}:{channel}:{thread_ts}"


async def user_timezone(client: AsyncWebClient, user: str) -> str | None:
    """The user's timezone from users.info (None if Slack does not say)."""
    try:
        response = await client.users_info(user=user)
    except SlackApiError:
        return None
    tz = (response.get("user") or {}).get("tz")
    return str(tz) if tz else None


async def set_status(client: AsyncWebClient, channel: str, thread_ts: str, status: str) -> None:
    """Show (or clear, with "") the thread's status indicator; a refusal only costs the indicator."""
    try:
        await client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=status)
    except SlackApiError as exc:
        log.debug("assistant.threads.setStatus refused: %s", exc.response.get("error"))


async def post_card(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    workspace_id: str,
    channel: str,
    thread_ts: str,
    key: str,
    post_id: str,
    tz: str | None,
) -> None:
    """Post the approval card of a held post in the thread."""
    view = await asyncio.to_thread(load_post_view, runtime.ocma, workspace_id, post_id)
    await client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text="A post is waiting for approval",
        blocks=approval_card(view, key, tz),
    )


async def converse(
    runtime: SlackRuntime, event: dict[str, Any], context: Any, client: AsyncWebClient
) -> None:
    """Run one agent turn for a Slack message and answer in its thread."""
    from ocma_agent.context import Caller
    from ocma_agent.loop import run_turn

    from ocma_slack.deleting import offer_refused_deletes

    workspace_id: str = context["ocma_workspace_id"]
    user, channel = event.get("user", ""), event["channel"]
    thread_ts = event.get("thread_ts") or event["ts"]
    member = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, user)
    if member is None:
        from ocma_slack.joining import tell_stranger

        await tell_stranger(runtime, client, workspace_id, user, channel, thread_ts)
        return
    if not store.can(member, Action.AGENT_CHAT):
        need = store.least_role(Action.AGENT_CHAT).value
        await client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=thread_ts, text=f"Chatting with OCMA needs the {need} role."
        )
        return
    key = thread_key(context.get("team_id") or "", channel, thread_ts)
    text = MENTION.sub("", event.get("text") or "").strip()
    await set_status(client, channel, thread_ts, WORKING)
    try:
        result = await run_turn(
            runtime.ocma,
            workspace_id,
            key,
            text or "hello",
            caller=Caller("slack", user=user, role=member.role),
            stream=False,
        )
    finally:
        await set_status(client, channel, thread_ts, "")
    answer = result.text
    if result.error:
        answer = f"{result.error.get('message', '')}\n{result.error.get('fix', '')}".strip()
    pieces = split_text(answer or "(no answer)")
    for number, piece in enumerate(pieces, 1):
        blocks: list[dict[str, Any]] | None = None
        if number == len(pieces) and result.tool_calls:  # what the tools did, beside what the agent says
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": piece}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": _outcomes(result.tool_calls)}]},
            ]
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=piece, blocks=blocks)
    pending = [a for a in result.approvals if a.get("status") == "pending" and a.get("post_id")]
    if pending:
        tz = await user_timezone(client, user)
        for approval in pending:
            await post_card(runtime, client, workspace_id, channel, thread_ts, key, approval["post_id"], tz)
    # Deleting cannot be held for later, so the agent refuses it without an inline yes: offer a card instead.
    await offer_refused_deletes(
        runtime, client, workspace_id, channel, thread_ts, key, user, result.tool_calls
    )


def _outcomes(tool_calls: list[dict[str, Any]]) -> str:
    """The turn's tool outcomes for the context line under the reply (at most Slack's 3,000 characters)."""
    from ocma_agent.claims import outcomes_line

    return f"Tools: {outcomes_line(tool_calls)}"[:3000]


def register(runtime: SlackRuntime) -> None:
    """app_mention, message.im and replies in threads the agent is part of."""
    app = runtime.app

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        from ocma_slack.inbox import answer_mention, asks_for_feed

        if asks_for_feed(event.get("text") or ""):
            await answer_mention(runtime, event, context, client)  # "notifications", "what's new"
            return
        await converse(runtime, event, context, client)

    @app.event("message")
    async def on_message(event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return
        if event.get("channel_type") == "im":
            await converse(runtime, event, context, client)
            return
        bot_user = context.get("bot_user_id") or ""
        if not event.get("thread_ts") or (bot_user and f"<@{bot_user}>" in (event.get("text") or "")):
            return  # top-level channel chatter is not for us; mentions arrive as app_mention
        key = thread_key(context.get("team_id") or "", event["channel"], event["thread_ts"])
        if await asyncio.to_thread(_known_thread, runtime, context["ocma_workspace_id"], key):
            await converse(runtime, event, context, client)


def _known_thread(runtime: SlackRuntime, workspace_id: str, key: str) -> bool:
    from ocma_agent.store import history

    return bool(history(runtime.ocma, workspace_id, key))
