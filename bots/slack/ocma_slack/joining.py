"""People Slack knows and OCMA does not: tell them how to get in, and let an admin let them in with a click.

A Slack user who is no OCMA member and talks to the bot is told (only to them) their Slack member id and the
exact command an admin runs. At most once a day per person, the workspace's admins (members with a linked
Slack id, else the notification channel) get a card: **Let in as viewer / editor / admin** or **Ignore**.
Pressing one (admins and owners only; nobody gives a role above their own) adds the member with that Slack
id, updates the card, and tells the person they are in.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.app.models import ROLE_RANK, Role
from ocma_core.app.workspaces import add_member, claim_once, get_workspace, list_members, list_workspaces
from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack import store

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

log = logging.getLogger(__name__)
ADMIT = {role: f"ocma_admit_{role.value}" for role in (Role.VIEWER, Role.EDITOR, Role.ADMIN)}
IGNORE = "ocma_admit_ignore"
ASK_AGAIN_AFTER_S = 24 * 3600.0


def add_command(ocma: Any, workspace_id: str, user: str) -> str:
    """The exact `ocma members add` an admin runs for this Slack user (naming the workspace when needed)."""
    command = f"ocma members add --slack {user} --role editor"
    if len(list_workspaces(ocma)) > 1:
        command += f" -w {shlex.quote(get_workspace(ocma, workspace_id).name)}"
    return command


def stranger_text(command: str, user: str, asked: bool) -> str:
    """What an unknown Slack user is told: their id, the command, and whether the admins were asked."""
    text = (
        "You are not a member of this OCMA workspace yet, so I cannot act for you.\n"
        f"Your Slack member id is `{user}`. An OCMA admin can let you in with:\n```{command}```\n"
        f"(or link your existing member: `ocma members link YOUR_EMAIL --slack {user}`)."
    )
    if asked:
        text += "\nI have asked the admins; you will hear from me when you are in."
    return text


def join_card(user: str, name: str, where: str, command: str) -> list[dict[str, Any]]:
    """The admins' card: who asks, where, the command, and a button per role."""
    who = f"<@{user}>" + (f" ({name})" if name else "")
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": f"Let in as {role.value}"},
            "value": json.dumps({"u": user, "r": role.value}),
            **({"style": "primary"} if role is Role.EDITOR else {}),
        }
        for role, action in ADMIT.items()
    ]
    buttons.append(
        {
            "type": "button",
            "action_id": IGNORE,
            "text": {"type": "plain_text", "text": "Ignore"},
            "value": json.dumps({"u": user}),
        }
    )
    where_text = f" in <#{where}>" if where.startswith(("C", "G")) else ""
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f":wave: {who} wrote to OCMA{where_text} but is not a member.",
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Slack member id {user}. Or run: `{command}`"}],
        },
        {"type": "actions", "block_id": "ocma_admit", "elements": buttons},
    ]


async def _name(client: AsyncWebClient, user: str) -> str:
    """The user's Slack name (real name if shared), or "" when Slack does not say."""
    try:
        response = await client.users_info(user=user)
    except SlackApiError:
        return ""
    info = response.get("user") or {}
    return str(
        info.get("real_name") or (info.get("profile") or {}).get("real_name") or info.get("name") or ""
    )


def _admin_slack_ids(runtime: SlackRuntime, workspace_id: str) -> list[str]:
    members = list_members(runtime.ocma, workspace_id)
    admins = [m for m in members if ROLE_RANK[m.role] >= ROLE_RANK[Role.ADMIN]]
    return [str(m.external_ids["slack"]) for m in admins if (m.external_ids or {}).get("slack")]


async def ask_admins(
    runtime: SlackRuntime, client: AsyncWebClient, workspace_id: str, user: str, where: str, command: str
) -> bool:
    """Send the admins the card (once a day per person); True when someone was (or had been) asked."""
    first = await asyncio.to_thread(
        claim_once, runtime.ocma, f"slack:join:{workspace_id}:{user}", ASK_AGAIN_AFTER_S
    )
    recipients = await asyncio.to_thread(_admin_slack_ids, runtime, workspace_id)
    if not recipients:
        channel = await asyncio.to_thread(
            store.notification_channel, runtime.ocma, workspace_id, runtime.config
        )
        recipients = [channel] if channel else []
    if not first or not recipients:
        return bool(recipients)
    blocks = join_card(user, await _name(client, user), where, command)
    sent = False
    for recipient in recipients:
        try:
            await client.chat_postMessage(
                channel=recipient, text=f"<@{user}> asks to use OCMA", blocks=blocks
            )
            sent = True
        except SlackApiError as exc:
            log.warning("could not send the join card to %s: %s", recipient, exc.response.get("error"))
    return sent


async def tell_stranger(
    runtime: SlackRuntime, client: AsyncWebClient, workspace_id: str, user: str, channel: str, thread_ts: str
) -> None:
    """Tell an unknown user (only them) how to get in, and ask the admins."""
    command = await asyncio.to_thread(add_command, runtime.ocma, workspace_id, user)
    asked = await ask_admins(runtime, client, workspace_id, user, channel, command)
    text = stranger_text(command, user, asked)
    if channel.startswith("D"):  # a direct message: an ordinary reply is private already
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    else:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)


async def _close_card(client: AsyncWebClient, body: dict[str, Any], note: str) -> None:
    """Replace the card's buttons with a line saying what happened."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    if not channel or not ts:
        return
    kept = [b for b in (body.get("message") or {}).get("blocks", []) if b.get("type") != "actions"]
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    await client.chat_update(channel=channel, ts=ts, text=note, blocks=kept)


async def admit(runtime: SlackRuntime, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
    """A Let in button: add the member with the button's role (the presser's role permitting)."""
    from ocma_slack.actions import member_or_tell

    workspace_id = context["ocma_workspace_id"]
    if not await member_or_tell(
        runtime, client, body, workspace_id, Action.MEMBERS_MANAGE, "let people into OCMA"
    ):
        return
    value = json.loads(body["actions"][0]["value"])
    user, role, admin = value["u"], Role(value["r"]), body["user"]["id"]
    presser = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, admin)
    name = await _name(client, user)
    try:
        await asyncio.to_thread(
            add_member,
            runtime.ocma,
            workspace_id,
            name=name,
            role=role,
            external_ids={"slack": user},
            by=presser.role if presser else Role.VIEWER,
        )
    except OcmaError as exc:
        existing = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, user)
        if existing is None:  # refused (e.g. a role above the presser's): say so only to them
            await client.chat_postMessage(channel=admin, text=f"{exc} {exc.fix or ''}".strip())
            return
        await _close_card(client, body, f"<@{user}> is already a member ({existing.role.value}).")
        return
    await _close_card(client, body, f"<@{user}> was let in as {role.value} by <@{admin}>.")
    await client.chat_postMessage(
        channel=user,
        text=f"You are in: <@{admin}> gave you the {role.value} role in OCMA. Mention me or write to me here "
        "to get started.",
    )


async def ignore(runtime: SlackRuntime, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
    """Ignore: close the card; nothing changes (the person may ask again tomorrow)."""
    from ocma_slack.actions import member_or_tell

    workspace_id = context["ocma_workspace_id"]
    if not await member_or_tell(
        runtime, client, body, workspace_id, Action.MEMBERS_MANAGE, "answer join requests"
    ):
        return
    user = json.loads(body["actions"][0]["value"])["u"]
    await _close_card(client, body, f"Ignored by <@{body['user']['id']}>: <@{user}> was not let in.")


def register(runtime: SlackRuntime) -> None:
    """The card's buttons."""
    app = runtime.app

    for action in ADMIT.values():

        @app.action(action)
        async def on_admit(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
            await ack()
            await admit(runtime, body, context, client)

    @app.action(IGNORE)
    async def on_ignore(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        await ack()
        await ignore(runtime, body, context, client)
