"""Block Kit for approval cards, the edit and reschedule modals, and long-text splitting."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ocma_slack.postview import PostView

SECTION_LIMIT = 3000  # a section block's text object takes at most 3,000 characters
APPROVE, EDIT, RESCHEDULE, REJECT, RETRY = (
    "ocma_approve",
    "ocma_edit",
    "ocma_reschedule",
    "ocma_reject",
    "ocma_retry",
)
EDIT_VIEW, RESCHEDULE_VIEW = "ocma_edit_view", "ocma_reschedule_view"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters, at paragraph, line, then word boundaries."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or max(window.rfind(" "), 0)
        if cut < limit // 2:
            cut = window.rfind(" ") if window.rfind(" ") > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def when_text(when: datetime | None, tz: str | None) -> str:
    """A time as Slack's date token (each viewer sees their own timezone) with a fallback in `tz`."""
    if when is None:
        return "as soon as it is approved"
    local = when.astimezone(ZoneInfo(tz or "UTC"))
    fallback = local.strftime("%a %d %b %Y %H:%M ") + (tz or "UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() or [""])


def post_blocks(view: PostView, tz: str | None) -> list[dict[str, Any]]:
    """Per-platform text with its validation, media preview and time."""
    blocks: list[dict[str, Any]] = []
    for target in view.targets:
        verdict = (
            f":white_check_mark: valid ({target.length}/{target.limit} {target.unit})"
            if not target.problems
            else ":x: " + "; ".join(target.problems)
        )
        head = f"*{target.display}* {target.handle} · {verdict}"
        blocks.append({"type": "section", "text": _mrkdwn(head + "\n" + _quote(target.text))})
    for url, alt in view.images[:3]:
        blocks.append({"type": "image", "image_url": url, "alt_text": alt[:2000] or "image"})
    if view.other_media:
        blocks.append({"type": "context", "elements": [_mrkdwn("Media: " + ", ".join(view.other_media))]})
    blocks.append(
        {"type": "context", "elements": [_mrkdwn(f"Scheduled for {when_text(view.scheduled_at, tz)}")]}
    )
    return blocks


def button_value(post_id: str, thread: str) -> str:
    """The value a card's buttons carry: the post and the agent thread."""
    return json.dumps({"p": post_id, "t": thread})


def approval_card(view: PostView, thread: str, tz: str | None) -> list[dict[str, Any]]:
    """The approval card: the post, then Approve, Edit, Reschedule and Reject."""
    value = button_value(view.id, thread)
    reject = {
        "type": "button",
        "action_id": REJECT,
        "text": {"type": "plain_text", "text": "Reject"},
        "style": "danger",
        "value": value,
        "confirm": {
            "title": {"type": "plain_text", "text": "Reject this post?"},
            "text": {"type": "plain_text", "text": "It will be cancelled and not published."},
            "confirm": {"type": "plain_text", "text": "Reject"},
            "deny": {"type": "plain_text", "text": "Keep"},
        },
    }
    buttons = [
        {
            "type": "button",
            "action_id": APPROVE,
            "text": {"type": "plain_text", "text": "Approve"},
            "style": "primary",
            "value": value,
        },
        {"type": "button", "action_id": EDIT, "text": {"type": "plain_text", "text": "Edit"}, "value": value},
        {
            "type": "button",
            "action_id": RESCHEDULE,
            "text": {"type": "plain_text", "text": "Reschedule"},
            "value": value,
        },
        reject,
    ]
    header = {"type": "header", "text": {"type": "plain_text", "text": "Post waiting for approval"}}
    return [
        header,
        *post_blocks(view, tz),
        {"type": "actions", "block_id": "ocma_approval", "elements": buttons},
    ]


def decided_card(view: PostView, tz: str | None, note: str) -> list[dict[str, Any]]:
    """The card after a decision: the post, and who decided what (no buttons)."""
    header = {
        "type": "header",
        "text": {"type": "plain_text", "text": f"Post {view.status.replace('_', ' ')}"},
    }
    return [header, *post_blocks(view, tz), {"type": "context", "elements": [_mrkdwn(note)]}]


def edit_modal(view: PostView, metadata: dict[str, Any]) -> dict[str, Any]:
    """A modal with one text box per platform, prefilled with the current text."""
    blocks = []
    seen: set[str] = set()
    for target in view.targets:
        if target.platform in seen:
            continue
        seen.add(target.platform)
        blocks.append(
            {
                "type": "input",
                "block_id": f"text:{target.platform}",
                "label": {
                    "type": "plain_text",
                    "text": f"{target.display} (limit {target.limit} {target.unit})",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "initial_value": target.text,
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "Edit post"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def reschedule_modal(view: PostView, metadata: dict[str, Any]) -> dict[str, Any]:
    """A modal with a date-and-time picker (shown in the viewer's own timezone by Slack)."""
    element: dict[str, Any] = {"type": "datetimepicker", "action_id": "when"}
    if view.scheduled_at is not None:
        element["initial_date_time"] = int(view.scheduled_at.timestamp())
    return {
        "type": "modal",
        "callback_id": RESCHEDULE_VIEW,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "Reschedule post"},
        "submit": {"type": "plain_text", "text": "Reschedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "when",
                "label": {"type": "plain_text", "text": "Publish at"},
                "element": element,
            }
        ],
    }
