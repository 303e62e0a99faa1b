"""ocma webhooks (add, list, change, rotate, remove, deliveries, redeliver, ping) and ocma events (tail)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from ocma_core.cli.common import context, examples, print_json, table, workspace_id, workspace_option

JSON_HELP = "Machine-readable output."


@click.group()
def webhooks() -> None:
    """Outbound webhooks: OCMA POSTs signed events (Standard Webhooks) to your URLs.

    \b
    Example:
      ocma webhooks add https://example.com/hooks/ocma --events post.published,metrics.updated
    """


def _kinds(events: str) -> list[str]:
    return [k.strip() for k in events.split(",") if k.strip()]


def _shown(result: Any) -> dict[str, Any]:
    from ocma_core.services import webhooks as svc

    if isinstance(result, svc.WithSecret):
        return {**svc.view(result.webhook), "secret": result.secret}
    return svc.view(result)


@examples(
    "ocma webhooks add https://example.com/hooks/ocma",
    "ocma webhooks add https://example.com/hooks/ocma --events post.published,post.failed",
)
@webhooks.command("add")
@workspace_option
@click.argument("url")
@click.option("--events", default="", help="Comma-separated kinds to send (docs/events.md); default: all.")
@click.option("--description", default="", help="What the endpoint is for.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def webhooks_add(workspace: str | None, url: str, events: str, description: str, as_json: bool) -> None:
    """Add an endpoint; its signing secret is printed this once."""
    from ocma_core.services.webhooks import create_webhook

    ocma = context()
    made = create_webhook(ocma, workspace_id(ocma, workspace), url, _kinds(events), description)
    if as_json:
        print_json(_shown(made))
        return
    click.echo(f"Added webhook {made.webhook.id} → {made.webhook.url}")
    click.echo(f"Secret (shown once; verify webhook-signature with it): {made.secret}")


@examples("ocma webhooks list", "ocma webhooks list --json")
@webhooks.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def webhooks_list(workspace: str | None, as_json: bool) -> None:
    """List endpoints (never their secrets)."""
    from ocma_core.services.webhooks import list_webhooks, view

    ocma = context()
    rows = [view(h) for h in list_webhooks(ocma, workspace_id(ocma, workspace))]
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "url", "events", "enabled"],
        [[r["id"], r["url"], ",".join(r["events"]) or "all", "yes" if r["enabled"] else "no"] for r in rows],
    )


@examples("ocma webhooks change wh_123 --events post.published", "ocma webhooks change wh_123 --enable")
@webhooks.command("change")
@workspace_option
@click.argument("webhook_id")
@click.option("--url", default=None, help="A new URL.")
@click.option("--events", default=None, help="Comma-separated kinds (empty string: all).")
@click.option("--enable/--disable", "enabled", default=None, help="Turn the endpoint on or off.")
@click.option("--rotate-secret", is_flag=True, help="New secret; the old one also signs for 24 hours.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def webhooks_change(
    workspace: str | None,
    webhook_id: str,
    url: str | None,
    events: str | None,
    enabled: bool | None,
    rotate_secret: bool,
    as_json: bool,
) -> None:
    """Change an endpoint; with --rotate-secret the new secret is printed this once."""
    from ocma_core.services.webhooks import update_webhook

    ocma = context()
    changes = {"url": url, "kinds": _kinds(events) if events is not None else None, "enabled": enabled}
    result = _shown(
        update_webhook(ocma, workspace_id(ocma, workspace), webhook_id, changes, rotate=rotate_secret)
    )
    if as_json:
        print_json(result)
        return
    click.echo(f"Webhook {result['id']}: {result['url']} ({'enabled' if result['enabled'] else 'disabled'})")
    if "secret" in result:
        click.echo(f"New secret (shown once): {result['secret']}")


@examples("ocma webhooks remove wh_123")
@webhooks.command("remove")
@workspace_option
@click.argument("webhook_id")
def webhooks_remove(workspace: str | None, webhook_id: str) -> None:
    """Remove an endpoint and its delivery log."""
    from ocma_core.services.webhooks import delete_webhook

    ocma = context()
    delete_webhook(ocma, workspace_id(ocma, workspace), webhook_id)
    click.echo(f"Removed webhook {webhook_id}.")


@examples("ocma webhooks deliveries wh_123", "ocma webhooks deliveries wh_123 --json")
@webhooks.command("deliveries")
@workspace_option
@click.argument("webhook_id")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def webhooks_deliveries(workspace: str | None, webhook_id: str, limit: int, as_json: bool) -> None:
    """The endpoint's delivery log: status, attempts, response code and time."""
    from ocma_core.services.webhooks import deliveries, delivery_view

    ocma = context()
    rows = [delivery_view(d) for d in deliveries(ocma, workspace_id(ocma, workspace), webhook_id, limit)]
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "kind", "status", "attempts", "code", "ms"],
        [
            [r["id"], r["kind"], r["status"], r["attempts"], r["response_status"], r["response_ms"]]
            for r in rows
        ],
    )


@examples(
    "ocma webhooks redeliver wh_123 --delivery msg_456", "ocma webhooks redeliver wh_123 --since 2026-12-01"
)
@webhooks.command("redeliver")
@workspace_option
@click.argument("webhook_id")
@click.option("--delivery", default=None, help="One delivery id to send again.")
@click.option("--since", default=None, help="Send again every delivery made since this ISO time.")
def webhooks_redeliver(
    workspace: str | None, webhook_id: str, delivery: str | None, since: str | None
) -> None:
    """Send deliveries again (same webhook-id: receivers de-duplicate); a worker sends them."""
    from ocma_core.services.webhooks import redeliver

    ocma = context()
    when: datetime | None = None
    if since:
        when = datetime.fromisoformat(since)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    count = redeliver(ocma, workspace_id(ocma, workspace), webhook_id, delivery_id=delivery, since=when)
    click.echo(f"Queued {count} deliveries again.")


@examples("ocma webhooks ping wh_123")
@webhooks.command("ping")
@workspace_option
@click.argument("webhook_id")
def webhooks_ping(workspace: str | None, webhook_id: str) -> None:
    """Send a signed webhook.ping now and show the answer."""
    from ocma_core.webhook_delivery import ping

    ocma = context()
    row = ping(ocma, workspace_id(ocma, workspace), webhook_id)
    click.echo(
        f"{row.status}: HTTP {row.response_status} in {row.response_ms} ms {row.last_error or ''}".rstrip()
    )


@click.group()
def events() -> None:
    """The workspace's event log (docs/events.md).

    \b
    Example:
      ocma events tail --kinds post.published,metrics.updated
    """


@examples("ocma events tail", "ocma events tail --since 0 --no-follow --json")
@events.command("tail")
@workspace_option
@click.option("--since", type=int, default=None, help="Start after this sequence id (default: the newest).")
@click.option("--kinds", default="", help="Comma-separated kinds to show; default: all.")
@click.option("--follow/--no-follow", default=True, help="Keep waiting for new events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events_tail(workspace: str | None, since: int | None, kinds: str, follow: bool, as_json: bool) -> None:
    """Print events as they are stored (Ctrl-C stops)."""
    from ocma_core import eventbus
    from ocma_core.eventlog import last_seq, read

    ocma = context()
    ws = workspace_id(ocma, workspace)
    wanted, cursor = set(_kinds(kinds)), since if since is not None else last_seq(ocma, ws)
    eventbus.listen(ocma)
    while True:
        batch = read(ocma, ws, after=cursor)
        for event in batch:
            cursor = event.seq or cursor
            if wanted and event.kind not in wanted:
                continue
            if as_json:
                click.echo(json.dumps(event.as_dict(), separators=(",", ":")))
            else:
                click.echo(
                    f"{event.seq}  {event.at:%Y-%m-%d %H:%M:%S}  {event.kind}  {json.dumps(event.payload)[:200]}"
                )
        if batch:
            continue
        if not follow:
            return
        eventbus.wait(ws, cursor, 1.0)  # woken by this process or Redis; else the log is read again
