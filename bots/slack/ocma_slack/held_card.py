"""The card for posts that fell due while an account needed reconnecting: publish now, reschedule or cancel.

Sent on `account.reconnected` (posts still ahead have already gone back to the queue by then); each button
calls the core's `decide_held`, the same choice the API (`POST /v1/posts/{id}/held`) and the CLI
(`ocma posts held`) make.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.errors import OcmaError
from ocma_core.permissions import Action

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime

PUBLISH, RESCHEDULE, CANCEL = "ocma_held_publish", "ocma_held_reschedule", "ocma_held_cancel"
BLOCK_PREFIX = "ocma_held:"  # + post id: a date picker carries no value, so its block names the post
MAX_POSTS = 15  # a message holds at most 50 blocks: three per post, and the heading


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def held_message(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """The notice of a reconnect: how many posts went back to the queue, and a choice for each held one."""
    held = list(payload.get("held") or [])
    requeued = len(payload.get("requeued") or [])
    account = f"{payload.get('platform')} account {payload.get('handle')}"
    head = f"{account} is reconnected."
    if requeued:
        head += f" {requeued} scheduled post(s) went back to the queue at their times."
    if not held:
        return head, [_section(f":white_check_mark: {head}")]
    head += f" {len(held)} post(s) fell due while it was disconnected and wait for your choice:"
    blocks = [_section(f":white_check_mark: {head}")]
    for item in held[:MAX_POSTS]:
        due = datetime.fromisoformat(item["due_at"])
        when = f"<!date^{int(due.timestamp())}^{{date_short_pretty}} at {{time}}|{item['due_at']}>"
        quoted = "\n".join("> " + line for line in str(item.get("text") or "").splitlines()[:4])
        blocks.append(_section(f"*Was due {when}*\n{quoted}"))
        blocks.append(_choices(str(item["post_id"])))
    if len(held) > MAX_POSTS:
        blocks.append(_section(f"…and {len(held) - MAX_POSTS} more: see `ocma posts held`."))
    return head, blocks


def _choices(post_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": BLOCK_PREFIX + post_id,
        "elements": [
            {
                "type": "button",
                "action_id": PUBLISH,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Publish now"},
                "value": post_id,
            },
            {
                "type": "datetimepicker",
                "action_id": RESCHEDULE,
                "placeholder": {"type": "plain_text", "text": "Reschedule to…"},
            },
            {
                "type": "button",
                "action_id": CANCEL,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Cancel"},
                "value": post_id,
            },
        ],
    }


def _decided(body: dict[str, Any], post_id: str, note: str) -> list[dict[str, Any]]:
    """The card's blocks with this post's choices replaced by what was decided."""
    out: list[dict[str, Any]] = []
    for block in (body.get("message") or {}).get("blocks", []):
        if block.get("block_id") == BLOCK_PREFIX + post_id:
            block = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
        out.append(block)
    return out


def register(runtime: SlackRuntime) -> None:
    """Register the three choices."""
    from ocma_slack.actions import _where, member_or_tell

    async def decide(body: dict[str, Any], context: Any, client: AsyncWebClient, choice: str) -> None:
        from ocma_core.app.approvals import decide_held

        workspace_id = context["ocma_workspace_id"]
        if not await member_or_tell(
            runtime, client, body, workspace_id, Action.POSTS_SCHEDULE, "decide held posts"
        ):
            return
        action, user, (channel, ts) = body["actions"][0], body["user"]["id"], _where(body)
        post_id = str(action.get("value") or action.get("block_id", "")[len(BLOCK_PREFIX) :])
        when = None
        if choice == "reschedule":
            when = datetime.fromtimestamp(int(action["selected_date_time"]), tz=UTC)
        try:
            await asyncio.to_thread(decide_held, runtime.ocma, workspace_id, post_id, choice, when)
        except OcmaError as exc:
            await client.chat_postEphemeral(channel=channel, user=user, text=str(exc))
            return
        done = {"publish_now": "Publishing now", "cancel": "Cancelled"}.get(choice)
        if when is not None:
            done = f"Rescheduled to <!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{when}>"
        note = f"{done} (by <@{user}>)."
        await client.chat_update(channel=channel, ts=ts, text=note, blocks=_decided(body, post_id, note))

    def listener(choice: str) -> Any:
        async def handler(ack: Any, body: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
            await ack()
            await decide(body, context, client, choice)

        return handler

    for action_id, choice in ((PUBLISH, "publish_now"), (RESCHEDULE, "reschedule"), (CANCEL, "cancel")):
        runtime.app.action(action_id)(listener(choice))
