"""Block Kit for deleting a published post from Slack: the confirmation card (the post, where it would be
deleted, a danger button with a confirm dialog, Cancel) and the card after a press (one line per account)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ocma_core.app import Ocma
from ocma_core.errors import OcmaError
from ocma_core.permissions import Action
from ocma_slack.store import least_role

DELETE, DELETE_CANCEL = "ocma_delete_published", "ocma_delete_cancel"
BLOCK_ID = "ocma_delete"
_QUOTE_LIMIT = 2800  # leaves room for the notes in a 3,000-character section


@dataclass
class DeleteOffer:
    """What the confirmation card shows: the post, the accounts it would be deleted from, and what stays."""

    post_id: str
    text: str
    more_parts: int  # parts of a thread after the first (deleted with it)
    targets: list[tuple[str, str | None]]  # ("FakeSocial @fakeuser", url)
    skipped: list[str] = field(default_factory=list)  # "LinkedIn @acme: not published (failed)"
    notes: list[str] = field(default_factory=list)
    account_ids: list[str] | None = None


def platform_name(platform: str) -> str:
    """A platform's display name (its plain name when it is not installed here)."""
    from ocma_core.app.accounts import get_platform

    try:
        return get_platform(platform).display_name or platform
    except OcmaError:
        return platform


def label(platform: str, handle: str) -> str:
    """e.g. `FakeSocial @fakeuser`."""
    return f"{platform_name(platform)} @{handle}" if handle else platform_name(platform)


def escape(text: str) -> str:
    """Text as Slack mrkdwn shows it literally (no mentions, links or `<!channel>` from a post's text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """A post's text as a mrkdwn quote."""
    text = escape(text.strip())
    if len(text) > _QUOTE_LIMIT:
        text = text[:_QUOTE_LIMIT].rstrip() + "…"
    return "\n".join("> " + line for line in text.splitlines() or [""])


def load_offer(ocma: Ocma, workspace_id: str, post_id: str, account_ids: Sequence[str] | None) -> DeleteOffer:
    """The card's contents from the core's deletion plan (sync; raises OcmaError when nothing can be deleted)."""
    from ocma_core.app.posts import deletion_plan

    plan = deletion_plan(ocma, workspace_id, post_id, account_ids)
    return DeleteOffer(
        post_id=plan.post.id,
        text=plan.post.body,
        more_parts=len(plan.post.thread),
        targets=[(label(p.target.platform, p.account.handle), p.target.url) for p in plan.to_delete],
        skipped=[f"{label(s.platform, s.handle)}: {s.reason}" for s in plan.skipped],
        notes=[p.note for p in plan.to_delete if p.note],
        account_ids=list(account_ids) if account_ids else None,
    )


def button_value(post_id: str, account_ids: Sequence[str] | None, thread_key: str) -> str:
    """What the card's buttons carry: the post, the accounts (None: everywhere) and the agent thread, if any."""
    return json.dumps({"p": post_id, "a": list(account_ids) if account_ids else None, "t": thread_key})


def _context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t[:3000]} for t in texts if t][:10]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def buttons(value: str, where: Sequence[str], text: str = "Delete from platforms") -> dict[str, Any]:
    """The danger button (with Slack's confirm dialog naming the accounts) and Cancel."""
    places = ", ".join(where) or "its platforms"
    delete = {
        "type": "button",
        "action_id": DELETE,
        "text": {"type": "plain_text", "text": text},
        "style": "danger",
        "value": value,
        "confirm": {
            "title": {"type": "plain_text", "text": "Delete from platforms?"},
            "text": {
                "type": "plain_text",
                "text": f"It is deleted from {places}, every part of a thread. This cannot be undone."[:300],
            },
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep it"},
            "style": "danger",
        },
    }
    cancel = {
        "type": "button",
        "action_id": DELETE_CANCEL,
        "text": {"type": "plain_text", "text": "Cancel"},
        "value": value,
    }
    return {"type": "actions", "block_id": BLOCK_ID, "elements": [delete, cancel]}


def _text_blocks(text: str, more_parts: int) -> list[dict[str, Any]]:
    more = (
        f"\n_…and {more_parts} more part{'s' if more_parts > 1 else ''} of the thread_" if more_parts else ""
    )
    return [_section(quote(text) + more)]


def offer_blocks(
    offer: DeleteOffer, asked: str, warning: str = "", thread_key: str = ""
) -> list[dict[str, Any]]:
    """The confirmation card: the post, its accounts, who asked, and Delete (confirmed) / Cancel."""
    where = [name for name, _ in offer.targets]
    places = ", ".join(f"{name} (<{url}|view>)" if url else name for name, url in offer.targets)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Delete this post from its platforms?"}},
        _section(f"*Deletes it from:* {places}"),
        *_text_blocks(offer.text, offer.more_parts),
    ]
    stays = [f"Not deleted: {s}" for s in offer.skipped] + offer.notes
    if stays:
        blocks.append(_context(*stays))
    if warning:
        blocks.append(_context(f":warning: {warning}"))
    who = f"Only members with the {least_role(Action.POSTS_DELETE_PUBLISHED).value} role or above can confirm. Deleting cannot be undone."
    blocks.append(_context(asked, who))
    blocks.append(buttons(button_value(offer.post_id, offer.account_ids, thread_key), where))
    return blocks


def result_line(result: Any) -> str:
    """One account's outcome (a `TargetDeletion` or its dict form), for the card and the channel notice."""
    data = result if isinstance(result, dict) else result.as_dict()
    name = label(data.get("platform") or "", data.get("handle") or "")
    parts, done = int(data.get("parts") or 0), int(data.get("parts_deleted") or 0)
    reason = escape(data.get("reason") or "")
    if data.get("status") == "deleted":
        count = f" ({done}/{parts} parts)" if parts > 1 else ""
        return f":wastebasket: Deleted from {name}{count}" + (f". {reason}" if reason else "")
    if data.get("status") == "failed":
        return f":x: Not deleted from {name}: {reason or 'no reason given'}"
    return f":heavy_minus_sign: Skipped {name}: {reason}"


def result_blocks(
    post_id: str,
    text: str,
    more_parts: int,
    results: Sequence[Any],
    note: str,
    thread_key: str = "",
) -> tuple[str, list[dict[str, Any]]]:
    """The card after deleting: a line per account, who confirmed, and Try again for accounts that failed."""
    deleted = [r for r in results if r.status == "deleted"]
    failed = [r for r in results if r.status == "failed"]
    if deleted and not failed:
        title = "Deleted from its platforms"
    elif deleted:
        title = "Partly deleted"
    else:
        title = "Not deleted"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        *_text_blocks(text, more_parts),
        _section("\n".join(result_line(r) for r in results)),
        _context(note),
    ]
    if failed:
        value = button_value(post_id, [r.account_id for r in failed], thread_key)
        blocks.append(buttons(value, [label(r.platform, r.handle) for r in failed], "Try again"))
    summary = f"{title}: " + "; ".join(f"{label(r.platform, r.handle)} {r.status}" for r in results)
    return summary, blocks


def closed_blocks(text: str, more_parts: int, title: str, note: str) -> list[dict[str, Any]]:
    """The card without buttons: cancelled, being deleted, or nothing left to delete."""
    return [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        *_text_blocks(text, more_parts),
        _context(note),
    ]
