"""Card buttons (Approve, Edit, Reschedule, Reject, Retry) and the modals' submissions."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack import cards, store
from ocma_slack.conversation import user_timezone
from ocma_slack.postview import load_post_view

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime


def _where(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and message ts of the card the button is on."""
    return (body.get("channel") or {}).get("id", ""), (body.get("message") or {}).get("ts", "")


async def member_or_tell(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    body: dict[str, Any],
    workspace_id: str,
    action: Action,
    doing: str,
) -> bool:
    """True if the clicking user is a member whose OCMA role allows `action`; otherwise tell them why, only
    to them."""
    user = body["user"]["id"]
    member = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, user)
    if store.can(member, action):
        return True
    role = store.least_role(action)
    have = (
        f"your OCMA role is {member.role.value}"
        if member
        else f"you are not a member of this OCMA workspace (an admin can let you in: `ocma members add "
        f"--slack {user} --role editor`)"
    )
    channel, _ = _where(body)
    text = f"You cannot {doing}: only members with the {role.value} role or above can, and {have}."
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    else:  # App Home has no channel: tell them in their DM with the app
        await client.chat_postMessage(channel=user, text=text)
    return False


async def _refresh_card(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    workspace_id: str,
    channel: str,
    ts: str,
    post_id: str,
    thread: str,
    user: str,
    note: str | None,
) -> None:
    """Redraw a card: as decided (with a note) or as still waiting for approval."""
    view = await asyncio.to_thread(load_post_view, runtime.ocma, workspace_id, post_id)
    tz = await user_timezone(client, user)
    blocks = cards.decided_card(view, tz, note) if note else cards.approval_card(view, thread, tz)
    await client.chat_update(
        channel=channel, ts=ts, text=note or "A post is waiting for approval", blocks=blocks
    )


async def _decide(
    runtime: SlackRuntime, body: dict[str, Any], context: Any, client: AsyncWebClient, approve: bool
) -> None:
    from ocma_agent.approvals import decide

    workspace_id = context["ocma_workspace_id"]
    verb = "approve" if approve else "reject"
    if not await member_or_tell(runtime, client, body, workspace_id, Action.POSTS_APPROVE, f"{verb} posts"):
        return
    value = json.loads(body["actions"][0]["value"])
    user, (channel, ts) = body["user"]["id"], _where(body)
    try:
        await asyncio.to_thread(
            decide, runtime.ocma, workspace_id, value["t"], value["p"], approve=approve, by=f"slack {user}"
        )
    except OcmaError as exc:
        await client.chat_postEphemeral(channel=channel, user=user, text=f"{exc}")
        return
    note = f"{'Approved' if approve else 'Rejected'} by <@{user}>."
    if not channel:
        return
    await _refresh_card(runtime, client, workspace_id, channel, ts, value["p"], value["t"], user, note)


def _edit_values(state: dict[str, Any]) -> dict[str, str]:
    """platform -> text from the edit modal's state."""
    return {
        block_id.split(":", 1)[1]: (fields.get("text") or {}).get("value") or ""
        for block_id, fields in state.get("values", {}).items()
        if block_id.startswith("text:")
    }


def register(runtime: SlackRuntime) -> None:
    """Register the card actions and modal submissions."""
    app = runtime.app

    @app.action(cards.APPROVE)
    async def approve(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        await ack()
        await _decide(runtime, body, context, client, True)

    @app.action(cards.REJECT)
    async def reject(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        await ack()
        await _decide(runtime, body, context, client, False)

    async def open_modal(
        body: dict[str, Any], context: Any, client: AsyncWebClient, builder: Any, action: Action, doing: str
    ) -> None:
        workspace_id = context["ocma_workspace_id"]
        if not await member_or_tell(runtime, client, body, workspace_id, action, doing):
            return
        value = json.loads(body["actions"][0]["value"])
        channel, ts = _where(body)
        view = await asyncio.to_thread(load_post_view, runtime.ocma, workspace_id, value["p"])
        metadata = {"p": value["p"], "t": value["t"], "c": channel, "ts": ts}
        await client.views_open(trigger_id=body["trigger_id"], view=builder(view, metadata))

    @app.action(cards.EDIT)
    async def edit(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        await ack()
        await open_modal(body, context, client, cards.edit_modal, Action.POSTS_EDIT, "edit posts")

    @app.action(cards.RESCHEDULE)
    async def reschedule(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        await ack()
        await open_modal(
            body, context, client, cards.reschedule_modal, Action.POSTS_SCHEDULE, "reschedule posts"
        )

    @app.view(cards.EDIT_VIEW)
    async def edit_submitted(
        ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        from ocma_core.app.calendar import edit_post_content

        workspace_id, meta, user = (
            context["ocma_workspace_id"],
            json.loads(view["private_metadata"]),
            body["user"]["id"],
        )
        member = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, user)
        if not store.can(member, Action.POSTS_EDIT):
            await ack(
                response_action="errors",
                errors={b: "Only editors and above can edit posts." for b in view["state"]["values"]},
            )
            return
        texts = _edit_values(view["state"])
        body_text = next(iter(texts.values())) if len(texts) == 1 else None
        try:
            await asyncio.to_thread(
                edit_post_content,
                runtime.ocma,
                workspace_id,
                meta["p"],
                body=body_text,
                variants=texts,
                require_approval=True,
            )
        except OcmaError as exc:
            await ack(response_action="errors", errors={b: str(exc)[:150] for b in view["state"]["values"]})
            return
        await ack()
        if meta.get("c") and meta.get("ts"):
            await _refresh_card(
                runtime, client, workspace_id, meta["c"], meta["ts"], meta["p"], meta["t"], user, None
            )

    @app.view(cards.RESCHEDULE_VIEW)
    async def reschedule_submitted(
        ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        from ocma_core.app.calendar import schedule_existing

        workspace_id, meta, user = (
            context["ocma_workspace_id"],
            json.loads(view["private_metadata"]),
            body["user"]["id"],
        )
        member = await asyncio.to_thread(store.member_for, runtime.ocma, workspace_id, user)
        picked = view["state"]["values"]["when"]["when"].get("selected_date_time")
        if not store.can(member, Action.POSTS_SCHEDULE) or picked is None:
            await ack(response_action="errors", errors={"when": "Pick a time (editors and above only)."})
            return
        when = datetime.fromtimestamp(int(picked), tz=UTC)
        try:
            await asyncio.to_thread(
                schedule_existing, runtime.ocma, workspace_id, meta["p"], when, require_approval=True
            )
        except OcmaError as exc:
            await ack(response_action="errors", errors={"when": str(exc)[:150]})
            return
        await ack()
        if meta.get("c") and meta.get("ts"):
            await _refresh_card(
                runtime, client, workspace_id, meta["c"], meta["ts"], meta["p"], meta["t"], user, None
            )

    @app.action(cards.RETRY)
    async def retry(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        from ocma_core.app.posts import retry_post

        await ack()
        workspace_id = context["ocma_workspace_id"]
        if not await member_or_tell(runtime, client, body, workspace_id, Action.POSTS_RETRY, "retry posts"):
            return
        post_id, user, (channel, ts) = body["actions"][0]["value"], body["user"]["id"], _where(body)
        try:
            await asyncio.to_thread(retry_post, runtime.ocma, workspace_id, post_id)
        except OcmaError as exc:
            await client.chat_postEphemeral(channel=channel, user=user, text=str(exc))
            return
        blocks = [b for b in (body.get("message") or {}).get("blocks", []) if b.get("type") != "actions"]
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Retrying now (by <@{user}>)."}]}
        )
        await client.chat_update(channel=channel, ts=ts, text="Retrying the post", blocks=blocks)
