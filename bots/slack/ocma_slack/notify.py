"""Notices to the configured channel from OCMA's events, and the weekly report with PNG charts."""

from __future__ import annotations

import logging
import re
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_sdk.web import WebClient

from ocma_core.app import Ocma
from ocma_core.errors import OcmaError
from ocma_slack import store
from ocma_slack.cards import RETRY, split_text
from ocma_slack.delete_card import label, quote, result_line

log = logging.getLogger(__name__)
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ocma-slack-notify")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def published_message(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The "published" notice with a link per platform."""
    lines = [
        f"• {t['platform']}: <{t['url']}|view post>" if t.get("url") else f"• {t['platform']}: published"
        for t in payload.get("targets", [])
        if t.get("status") == "published"
    ]
    text = "Published :tada:\n" + "\n".join(lines)
    return text, [_section(text)]


def failed_message(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The "failed" notice with the reason and a Retry button."""
    reason = payload.get("reason") or "; ".join(t.get("error") or "" for t in payload.get("targets", []))
    text = f"A post failed to publish: {reason or 'no reason given'}"
    button = {
        "type": "button",
        "action_id": RETRY,
        "style": "primary",
        "text": {"type": "plain_text", "text": "Retry"},
        "value": payload["post_id"],
    }
    return text, [_section(f":x: {text}"), {"type": "actions", "elements": [button]}]


def reconnect_message(ocma: Ocma, payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The "account needs reconnecting" notice with a link that starts the platform's authorisation."""
    text = f"{payload.get('platform')} account {payload.get('handle')} needs reconnecting: {payload.get('reason')}"
    return text, [
        _section(f":warning: {text}\nRun `/ocma connect {payload.get('platform')}` to reconnect it.")
    ]


def _who(by: str) -> str:
    """Who asked for a deletion, as Slack shows it (`slack U123` becomes a mention)."""
    match = re.fullmatch(r"(agent for )?slack (U[A-Z0-9]+)( \(\w+\))?", by)
    if match:
        return f"{'the agent for ' if match.group(1) else ''}<@{match.group(2)}>"
    return f"`{by}`" if by else "someone"


def deleted_message(
    ocma: Ocma, workspace_id: str, payload: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """The "deleted" notice: where it was deleted, who asked, the post's text, and each failure with its reason."""
    from ocma_core.app.posts import get_post

    targets = list(payload.get("targets") or [])
    deleted = [
        label(t.get("platform") or "", t.get("handle") or "") for t in targets if t.get("status") == "deleted"
    ]
    # Failures and skips with their reasons, and deletions with a note (e.g. thread parts left on the platform).
    problems = [result_line(t) for t in targets if t.get("status") != "deleted" or t.get("reason")]
    text = f"Deleted from {', '.join(deleted)}" if deleted else "A post was not deleted"
    try:
        body = get_post(ocma, workspace_id, payload["post_id"]).body
    except OcmaError:
        body = ""
    still = "" if payload.get("post_status") == "deleted" else " It is still published on other accounts."
    head = f":wastebasket: *{text}* (asked by {_who(str(payload.get('by') or ''))}).{still}"
    blocks = [_section(head + ("\n" + quote(body[:500]) if body else ""))]
    if problems:
        blocks.append(_section("\n".join(problems)))
    summary = text + (" (" + "; ".join(problems) + ")" if problems else "")
    return summary, blocks


def message_for(ocma: Ocma, kind: str, payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """The notice for an event kind, or None for kinds Slack is not told about."""
    if kind == "post.published":
        return published_message(payload)
    if kind == "post.partially_published":
        text, blocks = published_message(payload)
        failed_text, failed_blocks = failed_message(payload)
        return text + "\n" + failed_text, blocks + failed_blocks
    if kind == "post.failed":
        return failed_message(payload)
    if kind == "account.needs_reconnect":
        return reconnect_message(ocma, payload)
    if kind == "account.expiring":
        text = f"{payload.get('platform')} account {payload.get('handle')}: {payload.get('reason')}"
        return text, [
            _section(f":hourglass: {text}\nRun `/ocma connect {payload.get('platform')}` to renew it.")
        ]
    if kind == "account.reconnected":
        from ocma_slack.held_card import held_message

        return held_message(payload)
    if kind == "webhook.disabled":
        return webhook_disabled_message(payload)
    if kind.startswith("stripe."):
        from ocma_slack.payments import payment_message

        return payment_message(kind, payload)
    if kind == "automation.failed":
        return automation_failed_message(payload)
    return (
        None  # post.deleted and automation.drafted are built by send_event on the pool (they read the post)
    )


def automation_failed_message(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The notice that an automation could not draft its post, with the reason and the fix."""
    rule = str(payload.get("rule_id") or "")
    text = f"Automation {rule} could not draft a post: {payload.get('reason') or 'no reason given'}"
    fix = f"\n{payload['fix']}" if payload.get("fix") else ""
    return text, [_section(f":warning: *{text}*{fix}")]


def automation_thread(payload: dict[str, Any]) -> str:
    """The agent thread an automation's approvals are noted in."""
    return f"automation:{payload.get('rule_id') or 'unknown'}"


def automation_drafted_message(
    ocma: Ocma, workspace_id: str, payload: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """The approval card of an automation's draft: what triggered it, the post, Approve / Edit / Reject."""
    from ocma_core.app.workspaces import get_workspace
    from ocma_slack.cards import approval_card
    from ocma_slack.postview import load_post_view

    view = load_post_view(ocma, workspace_id, str(payload["post_id"]))
    count, on = int(payload.get("events") or 0), str(payload.get("on") or "")
    head = f"Automation {payload.get('rule_id')} drafted a post from {count} `{on}` event(s); it waits for approval."
    blocks = approval_card(view, automation_thread(payload), get_workspace(ocma, workspace_id).timezone)
    return head, [_section(f":robot_face: {head}"), *blocks]


def webhook_disabled_message(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The notice that an outbound webhook kept failing and was turned off, with how to turn it back on."""
    url, hook = str(payload.get("url") or ""), str(payload.get("webhook_id") or "")
    text = f"Webhook to {url} was disabled: {payload.get('reason') or 'it kept failing'}"
    fix = f"Fix the receiver, then `ocma webhooks change {hook} --enable` (or PATCH /v1/webhooks/{hook})."
    return text, [_section(f":no_entry: *Webhook disabled* — `{url}`\n{payload.get('reason') or ''}\n{fix}")]


def runtime_of(ocma: Ocma | None) -> Any:
    """The Slack runtime for an event of this OCMA context (built if Slack is configured), or None.

    A process that has not served Slack yet (`ocma worker`, or `ocma serve` next to `ocma slack --socket`)
    builds one from the environment: HTTP mode when a signing secret is set, else Socket Mode settings
    (only its Web API client is used here).
    """
    from ocma_slack.config import SlackConfig
    from ocma_slack.runtime import current, existing_for, runtime_for

    if ocma is None:
        return current()
    found = existing_for(ocma)
    if found is not None:
        return found
    config = SlackConfig.from_env()
    for socket in (False, True):
        if config.problem(socket=socket) is None:
            return runtime_for(ocma, config, socket=socket)
    return None  # Slack is not configured for this OCMA


def send_event(
    kind: str, workspace_id: str, payload: dict[str, Any], ocma: Ocma | None = None
) -> Future[None] | None:
    """Post the notice for an event in the background (never blocks the engine); None when nothing to do."""
    runtime = runtime_of(ocma)
    if runtime is None:
        return None
    if kind == "report.weekly":
        return _pool.submit(_send_report, runtime, workspace_id, str(payload.get("period") or "last-week"))
    if kind == "post.deleted":  # reads the post's text: built on the pool's thread, not the caller's
        return _pool.submit(_post_deleted, runtime, workspace_id, payload)
    if kind == "automation.drafted":
        return _pool.submit(_built_on_pool, automation_drafted_message, runtime, workspace_id, payload)
    built = message_for(runtime.ocma, kind, payload)
    if built is None:
        return None
    return _pool.submit(_post, runtime.ocma, runtime, workspace_id, built)


def _post_deleted(runtime: Any, workspace_id: str, payload: dict[str, Any]) -> None:
    try:
        built = deleted_message(runtime.ocma, workspace_id, payload)
    except Exception:
        log.exception("Slack deleted notice failed")
        return
    _post(runtime.ocma, runtime, workspace_id, built)


def _built_on_pool(build: Any, runtime: Any, workspace_id: str, payload: dict[str, Any]) -> None:
    try:
        built = build(runtime.ocma, workspace_id, payload)
    except Exception:
        log.exception("Slack notice for workspace %s failed", workspace_id)
        return
    _post(runtime.ocma, runtime, workspace_id, built)


def _post(ocma: Ocma, runtime: Any, workspace_id: str, built: tuple[str, list[dict[str, Any]]]) -> None:
    channel = store.notification_channel(ocma, workspace_id, runtime.config)
    client: WebClient | None = runtime.sync_client(workspace_id)
    if not channel or client is None:
        log.info("Slack notice skipped: no channel or no token for workspace %s", workspace_id)
        return
    text, blocks = built
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except Exception:
        log.exception("Slack notice failed")


def _send_report(runtime: Any, workspace_id: str, period: str) -> None:
    channel = store.notification_channel(runtime.ocma, workspace_id, runtime.config)
    client: WebClient | None = runtime.sync_client(workspace_id)
    if not channel or client is None:
        log.info("Slack weekly report skipped: no channel or no token for workspace %s", workspace_id)
        return
    try:
        weekly_report(runtime.ocma, client, workspace_id, channel, period)
    except Exception:
        log.exception("Slack weekly report failed")


def weekly_report(
    ocma: Ocma, client: WebClient, workspace_id: str, channel: str, period: str = "last-week"
) -> dict[str, Any]:
    """A week's report from stored metrics: text in the channel, charts uploaded as PNG (files upload v2)."""
    from ocma_core.app.analytics import build_report, make_context, render, render_text, resolve_period

    resolved = resolve_period(ocma, workspace_id, period)
    report = build_report(ocma, workspace_id, resolved)
    text = render_text(report)
    pieces = split_text(text)
    first = client.chat_postMessage(channel=channel, text=pieces[0])
    for piece in pieces[1:]:
        client.chat_postMessage(channel=channel, text=piece, thread_ts=first["ts"])
    ctx = make_context(ocma, workspace_id, resolved)
    uploads = [
        {
            "filename": f"{kind}.png",
            "content": render(ctx, kind),
            "title": f"{kind.title()} ({resolved.label})",
        }
        for kind in ("engagement", "followers")
    ]
    response = client.files_upload_v2(
        file_uploads=uploads,
        channel=channel,
        thread_ts=first["ts"],
        initial_comment="Charts from stored metrics",
    )
    return {"ts": first["ts"], "files": [f.get("id") for f in response.get("files") or []]}
