"""The notification feed in Slack: `/ocma notifications` (or mentioning the bot with "notifications" or
"what's new") answers with the workspace's unread notifications, newest first, and a button that marks
exactly those read (editors and above; read state is the workspace's, so it is read for everyone).

Only the core's public API is used (`ocma_core.app.events`); payload fields an event kind marks
`x-personal` (a customer id, what one person paid) are withheld, as the agent's recent_events does, because a
channel is shared."""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack import store
from ocma_slack.delete_card import escape

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

MARK_READ = "ocma_notifications_read"
SHOWN = 15  # notifications per answer (Slack's block and button-value limits stay far away)
ASKED = re.compile(r"^\s*(notifications|what'?s new|what is new|news)\s*[?!.]*\s*$", re.IGNORECASE)


def asks_for_feed(text: str) -> bool:
    """Whether a mention's text (without the bot's @) asks for the notification feed."""
    return bool(ASKED.match(re.sub(r"<@[A-Z0-9]+>", "", text or "")))


def _line(item: dict[str, Any]) -> str:
    """One notification as a line: sequence id, time, kind and its (redacted) payload, shortened."""
    data = json.dumps(item["data"], ensure_ascii=False, separators=(", ", ": "))
    if len(data) > 180:
        data = data[:179] + "…"
    return f"• `#{item['seq']}` {item['at'][:16].replace('T', ' ')} UTC · *{item['kind']}* · {escape(data)}"


def feed(runtime: SlackRuntime, workspace_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The unread feed as (fallback text, blocks): the newest unread notifications and a mark-read button."""
    from ocma_core.app import events

    page = events.list_notifications(runtime.ocma, workspace_id, unread=True, limit=SHOWN)
    unread = events.unread_count(runtime.ocma, workspace_id)
    if not page:
        text = "No unread notifications."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    personal = events.personal_fields()
    items = [events.withhold_personal(events.notification_dict(row), personal) for row in page]
    more = f" (the newest {len(items)} shown)" if unread > len(items) else ""
    head = f"*{unread} unread notification{'s' if unread != 1 else ''}*{more}"
    body = "\n".join(_line(i) for i in items)[:2900]
    value = json.dumps({"ids": [i["id"] for i in items]}, separators=(",", ":"))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n{body}"}},
        {
            "type": "actions",
            "block_id": "ocma_notifications",
            "elements": [
                {
                    "type": "button",
                    "action_id": MARK_READ,
                    "text": {"type": "plain_text", "text": "Mark these read"},
                    "value": value,
                }
            ],
        },
    ]
    return f"{unread} unread notifications", blocks


async def answer_mention(
    runtime: SlackRuntime, event: dict[str, Any], context: Any, client: AsyncWebClient
) -> None:
    """Answer a mention that asked for the feed, in its thread (members with read access only)."""
    workspace_id, user = context["ocma_workspace_id"], event.get("user", "")
    member = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, user)
    thread = event.get("thread_ts") or event["ts"]
    if not store.can(member, Action.EVENTS_READ):
        text = "Only members of this OCMA workspace can read its notifications."
        await client.chat_postEphemeral(channel=event["channel"], user=user, text=text, thread_ts=thread)
        return
    text, blocks = await asyncio.to_thread(feed, runtime, workspace_id)
    await client.chat_postMessage(channel=event["channel"], thread_ts=thread, text=text, blocks=blocks)


def register(runtime: SlackRuntime) -> None:
    """Register the mark-read button."""

    @runtime.app.action(MARK_READ)
    async def mark_read(
        ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient, respond: Any
    ) -> None:
        from ocma_core.app import events
        from ocma_slack.actions import member_or_tell

        await ack()
        workspace_id = context["ocma_workspace_id"]
        doing = "mark notifications read"
        if not await member_or_tell(runtime, client, body, workspace_id, Action.NOTIFICATIONS_MARK, doing):
            return
        user = body["user"]["id"]
        try:
            ids = json.loads(body["actions"][0]["value"])["ids"]
            marked = await asyncio.to_thread(events.mark_read, runtime.ocma, workspace_id, ids=ids)
        except (OcmaError, ValueError, KeyError, TypeError) as exc:
            fix = getattr(exc, "fix", None) or "Ask for the feed again: /ocma notifications."
            await respond(text=f"Nothing was marked: {exc} {fix}", replace_original=False)
            return
        left = await asyncio.to_thread(events.unread_count, runtime.ocma, workspace_id)
        text = f"<@{user}> marked {marked} notification{'s' if marked != 1 else ''} read; {left} unread left."
        section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        await respond(text=text, blocks=[section], replace_original=True)  # works on ephemeral answers too
