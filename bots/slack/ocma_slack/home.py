"""App Home: what is coming up and what went out this week (deleted posts as such), connection health with
reconnect buttons, pending approvals — each part only for a member whose role may see or do it. A Slack user
who is no member sees how to get in, and nothing of the workspace."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from ocma_core.app.models import Member, utcnow
from ocma_core.permissions import Action
from ocma_slack.cards import button_value, when_text
from ocma_slack.delete_card import escape, label
from ocma_slack.store import can, least_role, member_for

if TYPE_CHECKING:
    from ocma_slack.runtime import SlackRuntime


UPCOMING = frozenset({"draft", "pending_approval", "scheduled", "publishing"})
# A post deleted everywhere is listed with the published ones ("deleted from FakeSocial @..."), never as coming up.
PUBLISHED = frozenset({"published", "partially_published", "deleted"})
PUBLISHED_SHOWN = 15


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def upcoming(status: str) -> bool:
    """True for a post still to go out (the Home tab's coming-up list); published, failed, cancelled and
    deleted posts are not coming up."""
    return status in UPCOMING


def _published_lines(runtime: SlackRuntime, workspace_id: str, posts: list[Any], tz: str | None) -> list[str]:
    """One line per post published in the last 7 days: where it is out (with links) and where it was deleted."""
    from sqlmodel import col, select

    from ocma_core.app.models import Account, Target

    ids = [p.id for p in posts]
    with runtime.ocma.session() as session:
        targets = list(session.exec(select(Target).where(col(Target.post_id).in_(ids)))) if ids else []
        handles = {
            a.id: a.handle for a in session.exec(select(Account).where(Account.workspace_id == workspace_id))
        }
    lines = []
    for post in posts:
        where = []
        for target in (t for t in targets if t.post_id == post.id):
            name = label(target.platform, handles.get(target.account_id, ""))
            status = str(target.status)
            if status == "published":
                where.append(f"{name} <{target.url}|view>" if target.url else name)
            elif status in ("deleted", "failed"):
                where.append(f"{status} {'from' if status == 'deleted' else 'on'} {name}")
        lines.append(f"• {when_text(post.scheduled_at, tz)} · {escape(post.body[:70])} · {', '.join(where)}")
    return lines


def stranger_view(command: str, user: str) -> dict[str, Any]:
    """The Home tab of a Slack user who is not a member: how to get in, nothing of the workspace."""
    from ocma_slack.joining import stranger_text

    header = {"type": "header", "text": {"type": "plain_text", "text": "OCMA"}}
    return {"type": "home", "blocks": [header, _section(stranger_text(command, user, asked=False))]}


def home_view(runtime: SlackRuntime, workspace_id: str, tz: str | None, member: Member) -> dict[str, Any]:
    """The Home tab of a workspace as `member` may see it (reconnect links and approval buttons only for the
    roles that may use them)."""
    from ocma_core.app.posts import list_posts

    if not can(member, Action.POSTS_READ):
        return {"type": "home", "blocks": [_section("Your OCMA role cannot see posts.")]}
    now = utcnow()
    week = list_posts(runtime.ocma, workspace_id, start=now, end=now + timedelta(days=7))
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "This week"}}]
    planned = [p for p in week if upcoming(str(p.status))]
    blocks.append(
        _section(
            "*Coming up*\n"
            + (
                "\n".join(
                    f"• {when_text(p.scheduled_at, tz)} · {p.status} · {escape(p.body[:70])}" for p in planned
                )
                or "Nothing planned for the next 7 days."
            )
        )
    )
    recent = list_posts(runtime.ocma, workspace_id, start=now - timedelta(days=7), end=now)
    out = [p for p in reversed(recent) if str(p.status) in PUBLISHED][:PUBLISHED_SHOWN]
    lines = _published_lines(runtime, workspace_id, out, tz)
    blocks.append(_section("*Published in the last 7 days*\n" + ("\n".join(lines) or "Nothing yet.")))
    blocks.extend(_connections(runtime, workspace_id, member))
    blocks.extend(_approvals(runtime, workspace_id, tz, member))
    return {"type": "home", "blocks": blocks[:100]}


def _connections(runtime: SlackRuntime, workspace_id: str, member: Member) -> list[dict[str, Any]]:
    """Connection health; a Reconnect link (a live authorisation) only for members who may connect."""
    from ocma_core.app.accounts import list_accounts, start_link

    if not can(member, Action.ACCOUNTS_READ):
        return []
    may_connect = can(member, Action.ACCOUNTS_CONNECT)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "Connections"}}]
    for account in list_accounts(runtime.ocma, workspace_id):
        healthy = str(account.status) == "connected"
        line = f"{':large_green_circle:' if healthy else ':red_circle:'} *{account.platform}* {account.handle} · {account.status}"
        block = _section(line + ("" if healthy else f"\n{account.last_error or ''}"))
        if not healthy and not may_connect:
            block = _section(f"{line}\n{account.last_error or ''}\nAn admin can reconnect it.")
        elif not healthy:
            url = start_link(runtime.ocma, workspace_id, account.platform)
            block["accessory"] = {
                "type": "button",
                "action_id": "ocma_reconnect",
                "text": {"type": "plain_text", "text": "Reconnect"},
                "url": url,
            }
        blocks.append(block)
    return blocks


def _approvals(
    runtime: SlackRuntime, workspace_id: str, tz: str | None, member: Member
) -> list[dict[str, Any]]:
    """Posts waiting for approval; Approve and Reject buttons only for members who may approve."""
    from ocma_core.app.posts import list_posts

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Waiting for approval"}}
    ]
    pending = list_posts(runtime.ocma, workspace_id, status="pending_approval")
    may_approve = can(member, Action.POSTS_APPROVE)
    for post in pending:
        value = button_value(post.id, f"slack-home:{post.id}")
        blocks.append(_section(f"{when_text(post.scheduled_at, tz)} · {escape(post.body[:200])}"))
        if not may_approve:
            continue
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "ocma_approve",
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Approve"},
                        "value": value,
                    },
                    {
                        "type": "button",
                        "action_id": "ocma_reject",
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Reject"},
                        "value": value,
                    },
                ],
            }
        )
    if not pending:
        blocks.append(_section("No post is waiting for approval."))
    elif not may_approve:
        blocks.append(_section(f"An {least_role(Action.POSTS_APPROVE).value} or above approves these."))
    return blocks


def register(runtime: SlackRuntime) -> None:
    """Publish the Home tab when it is opened."""
    from ocma_slack.conversation import user_timezone

    @runtime.app.event("app_home_opened")
    async def opened(event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        workspace_id, user = context["ocma_workspace_id"], event["user"]
        member = await asyncio.to_thread(member_for, runtime.ocma, workspace_id, user)
        if member is None:  # membership first: a stranger sees how to get in, nothing of the workspace
            from ocma_slack.joining import add_command

            command = await asyncio.to_thread(add_command, runtime.ocma, workspace_id, user)
            await client.views_publish(user_id=user, view=stranger_view(command, user))
            return
        tz = await user_timezone(client, user)
        view = await asyncio.to_thread(home_view, runtime, workspace_id, tz, member)
        await client.views_publish(user_id=user, view=view)

    @runtime.app.action("ocma_reconnect")
    async def reconnect(ack: Any) -> None:
        await ack()  # the button opens its URL in the browser; Slack still sends the action
