"""The /ocma slash command: schedule, queue, report, notifications, connect PLATFORM, delete POST_ID, help."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.app.models import utcnow
from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack import store
from ocma_slack.cards import split_text, when_text

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

HELP = """*OCMA commands*
• `/ocma schedule TEXT`: ask the agent to draft and schedule a post (it comes back as an approval card)
• `/ocma queue`: what is planned for the next 7 days
• `/ocma report`: last week's performance, from stored metrics
• `/ocma notifications`: unread notifications, with a button to mark them read (also: mention me with "what's new")
• `/ocma connect PLATFORM`: connect or reconnect a social account (admins)
• `/ocma delete POST_ID`: delete a published post from its platforms, after you confirm it (admins)
• `/ocma help`: this help
You can also mention me or send me a direct message."""


# What each verb does, for the permission check every surface shares (connect and delete explain themselves).
VERB_ACTIONS = {
    "queue": Action.POSTS_READ,
    "notifications": Action.EVENTS_READ,
    "report": Action.ANALYTICS_READ,
    "schedule": Action.AGENT_CHAT,
}


def queue_text(runtime: SlackRuntime, workspace_id: str) -> str:
    """Posts scheduled or waiting for approval in the next 7 days."""
    from ocma_core.app.posts import list_posts

    now = utcnow()
    posts = [
        p
        for p in list_posts(runtime.ocma, workspace_id, start=now, end=now + timedelta(days=7))
        if str(p.status) in ("scheduled", "pending_approval", "publishing")
    ]
    if not posts:
        return "Nothing is planned for the next 7 days."
    lines = [f"• {when_text(p.scheduled_at, p.timezone)} · {p.status} · {p.body[:80]}" for p in posts]
    return "*Next 7 days*\n" + "\n".join(lines)


def report_text(runtime: SlackRuntime, workspace_id: str) -> str:
    """Last week's report from stored metrics, as text."""
    from ocma_core.app.analytics import build_report, render_text

    return render_text(build_report(runtime.ocma, workspace_id, "last-week"))


def register(runtime: SlackRuntime) -> None:
    """Register /ocma."""

    @runtime.app.command("/ocma")
    async def ocma_command(
        ack: Any, command: dict[str, Any], respond: Any, context: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        workspace_id = context["ocma_workspace_id"]
        words = (command.get("text") or "").strip().split(maxsplit=1)
        verb, rest = (words[0].lower() if words else "help"), (words[1] if len(words) > 1 else "")
        member = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, command["user_id"])
        if member is None:
            from ocma_slack.joining import add_command, ask_admins, stranger_text

            user = command["user_id"]
            line = await asyncio.to_thread(add_command, runtime.ocma, workspace_id, user)
            asked = await ask_admins(runtime, client, workspace_id, user, command.get("channel_id", ""), line)
            await respond(stranger_text(line, user, asked) + "\n\n" + HELP)
        elif verb == "help":
            await respond(HELP)
        elif verb in VERB_ACTIONS and not store.can(member, VERB_ACTIONS[verb]):
            need = store.least_role(VERB_ACTIONS[verb]).value
            await respond(f"`/ocma {verb}` needs the {need} role; your OCMA role is {member.role.value}.")
        elif verb == "notifications":
            from ocma_slack.inbox import feed

            text, blocks = await asyncio.to_thread(feed, runtime, workspace_id)
            await respond(text=text, blocks=blocks)  # only to the asker; marking is for everyone
        elif verb == "queue":
            await respond(await asyncio.to_thread(queue_text, runtime, workspace_id))
        elif verb == "report":
            for piece in split_text(await asyncio.to_thread(report_text, runtime, workspace_id)):
                await respond(piece)
        elif verb == "connect":
            await connect(runtime, workspace_id, member, rest.strip().lower(), respond)
        elif verb == "delete":
            from ocma_slack.deleting import slash_delete

            await slash_delete(runtime, workspace_id, member, command["user_id"], rest, respond)
        elif verb == "schedule" and rest:
            await schedule(runtime, command, rest, context, client)
        else:
            await respond(f"I do not know `{verb}`.\n\n{HELP}")


async def connect(runtime: SlackRuntime, workspace_id: str, member: Any, platform: str, respond: Any) -> None:
    """Reply with the platform's authorisation link (admins only)."""
    from ocma_core.app.accounts import start_link

    if not store.can(member, Action.ACCOUNTS_CONNECT):
        await respond(f"Only admins and owners can connect accounts; your OCMA role is {member.role.value}.")
        return
    if not platform:
        await respond("Say which platform: `/ocma connect x`.")
        return
    try:
        url = await asyncio.to_thread(start_link, runtime.ocma, workspace_id, platform)
    except OcmaError as exc:
        await respond(f"{exc} {exc.fix or ''}")
        return
    await respond(
        f"<{url}|Connect your {platform} account> (the link works once, in the first browser that opens it, and expires soon)."
    )


async def schedule(
    runtime: SlackRuntime, command: dict[str, Any], text: str, context: Any, client: AsyncWebClient
) -> None:
    """Start an agent thread in the channel for the request."""
    from ocma_slack.conversation import converse

    user, channel = command["user_id"], command["channel_id"]
    opened = await client.chat_postMessage(channel=channel, text=f"<@{user}> asked: {text}")
    event = {"user": user, "channel": channel, "ts": opened["ts"], "text": f"Schedule a post: {text}"}
    await converse(runtime, event, context, client)
