"""Deleting a published post from Slack, only after a person's yes on a confirmation card.

The agent's `delete_published_post` runs only after a person's yes at the moment of the call (`approver`),
and a Slack turn cannot wait for a click: the tool is refused in Slack turns. So after a turn, each refused
delete becomes a card in the thread; `/ocma delete POST_ID` shows the same card to whoever typed it. Pressing
**Delete from platforms** (Slack asks again in a confirm dialog) by a member with the deleting role calls the
core's `delete_published` and turns the card into one line per account.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.app.models import Member
from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack import store
from ocma_slack.actions import member_or_tell
from ocma_slack.delete_card import (
    DELETE,
    DELETE_CANCEL,
    closed_blocks,
    label,
    load_offer,
    offer_blocks,
    result_blocks,
)

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

DELETE_TOOL = "delete_published_post"
OUTSIDE_WARNING = (
    "The agent asked for this right after reading text from outside OCMA (a web page or similar), which may "
    "carry instructions that did not come from your team. Delete only if you meant to."
)


def _where(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and message ts of the card the button is on."""
    return (body.get("channel") or {}).get("id", ""), (body.get("message") or {}).get("ts", "")


async def offer_card(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    workspace_id: str,
    channel: str,
    thread_ts: str,
    post_id: str,
    account_ids: Sequence[str] | None,
    *,
    asked: str,
    warning: str = "",
    thread_key: str = "",
) -> bool:
    """Post the confirmation card in the thread; False (nothing posted) when nothing of it can be deleted."""
    try:
        offer = await asyncio.to_thread(load_offer, runtime.ocma, workspace_id, post_id, account_ids)
    except OcmaError:
        return False  # unknown post or nothing published: the agent's own answer already says so
    await client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=f"Delete post {post_id} from its platforms? It needs a person's yes.",
        blocks=offer_blocks(offer, asked, warning, thread_key),
    )
    return True


def _refused_deletes(tool_calls: Sequence[dict[str, Any]]) -> list[tuple[str, list[str] | None, str]]:
    """(post id, account ids, the call's summary) of each refused delete call of a turn, once each."""
    found: dict[tuple[str, tuple[str, ...]], tuple[str, list[str] | None, str]] = {}
    for call in tool_calls:
        if call.get("name") != DELETE_TOOL or call.get("ok"):
            continue
        arguments = call.get("arguments")
        arguments = arguments if isinstance(arguments, dict) else {}
        post_id, accounts = arguments.get("post_id"), arguments.get("account_ids") or None
        if not isinstance(post_id, str) or not post_id:
            continue
        if accounts is not None and not (
            isinstance(accounts, list) and all(isinstance(a, str) for a in accounts)
        ):
            continue
        found.setdefault(
            (post_id, tuple(accounts or ())), (post_id, accounts, str(call.get("summary") or ""))
        )
    return list(found.values())


async def offer_refused_deletes(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    workspace_id: str,
    channel: str,
    thread_ts: str,
    thread_key: str,
    user: str,
    tool_calls: Sequence[dict[str, Any]],
) -> int:
    """After an agent turn: a confirmation card for each delete the agent was refused; how many were posted."""
    posted = 0
    for post_id, accounts, summary in _refused_deletes(tool_calls):
        asked = (
            f"<@{user}> asked the agent to delete it. Deleting cannot be undone, so the agent needs a "
            "person's yes, given here."
        )
        warning = OUTSIDE_WARNING if "text from outside" in summary else ""
        posted += await offer_card(
            runtime,
            client,
            workspace_id,
            channel,
            thread_ts,
            post_id,
            accounts,
            asked=asked,
            warning=warning,
            thread_key=thread_key,
        )
    return posted


async def slash_delete(
    runtime: SlackRuntime, workspace_id: str, member: Member, user: str, rest: str, respond: Any
) -> None:
    """`/ocma delete POST_ID [ACCOUNT_ID ...]`: the confirmation card, shown only to whoever typed it."""
    words = rest.split()
    if not words:
        await respond("Say which post: `/ocma delete POST_ID` (optionally followed by account ids).")
        return
    if not store.can(member, Action.POSTS_DELETE_PUBLISHED):
        await respond(
            f"Only members with the {store.least_role(Action.POSTS_DELETE_PUBLISHED).value} role or above can delete published posts from "
            f"Slack; your OCMA role is {member.role.value}. Ask an admin, or ask me in a thread: an admin can "
            "then confirm the card there."
        )
        return
    post_id, accounts = words[0], words[1:] or None
    try:
        offer = await asyncio.to_thread(load_offer, runtime.ocma, workspace_id, post_id, accounts)
    except OcmaError as exc:
        await respond(str(exc))
        return
    await respond(
        text=f"Delete post {post_id} from its platforms?",
        blocks=offer_blocks(offer, f"<@{user}> asked with `/ocma delete`."),
    )


async def _show(
    client: AsyncWebClient, respond: Any, body: dict[str, Any], text: str, blocks: list[dict[str, Any]]
) -> None:
    """Redraw the card: through chat.update for a message, through its response_url when it is ephemeral."""
    channel, ts = _where(body)
    if (body.get("container") or {}).get("is_ephemeral") or not channel or not ts:
        await respond(text=text, blocks=blocks, replace_original=True)
    else:
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def _note(
    runtime: SlackRuntime, workspace_id: str, thread_key: str, post_id: str, text: str, by: str
) -> None:
    """Tell the agent thread what became of the delete it asked for (it reads it in the next turn)."""
    from ocma_agent import store as agent_store

    thread = agent_store.open_thread(runtime.ocma, workspace_id, thread_key)
    agent_store.append(runtime.ocma, thread, [("note", {"text": text, "post_id": post_id, "by": by})])


async def pressed(
    runtime: SlackRuntime, body: dict[str, Any], context: Any, client: AsyncWebClient, respond: Any
) -> None:
    """Delete from platforms: check the member's role, delete, and show one line per account."""
    from ocma_core.app.posts import delete_published, get_post

    workspace_id = context["ocma_workspace_id"]
    if not await member_or_tell(
        runtime, client, body, workspace_id, Action.POSTS_DELETE_PUBLISHED, "delete published posts"
    ):
        return
    value, user = json.loads(body["actions"][0]["value"]), body["user"]["id"]
    post_id, accounts, thread_key, by = (
        value["p"],
        value.get("a") or None,
        value.get("t") or "",
        f"slack {user}",
    )
    try:
        post = await asyncio.to_thread(get_post, runtime.ocma, workspace_id, post_id)
    except OcmaError as exc:
        await _show(client, respond, body, str(exc), closed_blocks("", 0, "Not deleted", str(exc)))
        return
    parts = len(post.thread)
    working = closed_blocks(post.body, parts, "Deleting…", f"<@{user}> confirmed; deleting it now.")
    await _show(client, respond, body, "Deleting the post from its platforms", working)
    try:
        results = await delete_published(runtime.ocma, workspace_id, post_id, account_ids=accounts, by=by)
    except OcmaError as exc:  # nothing left to delete (someone else did), or an account it was not sent to
        note = f"Nothing was deleted: {exc}"
        await _show(client, respond, body, note, closed_blocks(post.body, parts, "Not deleted", note))
        return
    summary, blocks = result_blocks(
        post.id, post.body, parts, results, f"Confirmed by <@{user}>.", thread_key
    )
    await _show(client, respond, body, summary, blocks)
    if thread_key:
        outcome = "; ".join(f"{label(r.platform, r.handle)}: {r.status} {r.reason}".strip() for r in results)
        text = f"Post {post.id}: deleting it from the platforms was confirmed in Slack by {by}: {outcome}."
        await asyncio.to_thread(_note, runtime, workspace_id, thread_key, post.id, text, by)


async def cancelled(
    runtime: SlackRuntime, body: dict[str, Any], context: Any, client: AsyncWebClient, respond: Any
) -> None:
    """Cancel: close the card (any member may; nothing reaches a platform)."""
    from ocma_core.app.posts import get_post

    workspace_id = context["ocma_workspace_id"]
    if not await member_or_tell(runtime, client, body, workspace_id, Action.POSTS_READ, "cancel this"):
        return
    value, user = json.loads(body["actions"][0]["value"]), body["user"]["id"]
    try:
        post = await asyncio.to_thread(get_post, runtime.ocma, workspace_id, value["p"])
        text, parts = post.body, len(post.thread)
    except OcmaError:
        text, parts = "", 0
    note = f"Cancelled by <@{user}>; nothing was deleted."
    await _show(client, respond, body, note, closed_blocks(text, parts, "Not deleted", note))
    if value.get("t"):
        done = f"Deleting post {value['p']} from the platforms was cancelled in Slack by slack {user}."
        await asyncio.to_thread(_note, runtime, workspace_id, value["t"], value["p"], done, f"slack {user}")


def register(runtime: SlackRuntime) -> None:
    """Register the card's Delete from platforms and Cancel buttons."""
    app = runtime.app

    @app.action(DELETE)
    async def delete(
        ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        await pressed(runtime, body, context, client, respond)

    @app.action(DELETE_CANCEL)
    async def cancel(
        ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        await cancelled(runtime, body, context, client, respond)
