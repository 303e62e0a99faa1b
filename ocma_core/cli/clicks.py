"""`ocma clicks ...`: the link-click receiver's secret (POST /webhooks/analytics), clicks per UTM campaign and
one post's link clicks (docs/clicks.md)."""

from __future__ import annotations

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    emit_record,
    examples,
    json_option,
    workspace_id,
    workspace_option,
)


@click.group()
def clicks() -> None:
    """Link clicks your analytics sends to POST /webhooks/analytics, shown beside platform metrics.

    \b
    Example:
      ocma clicks secret
      ocma clicks campaigns --period last-30-days
    """


@examples("ocma clicks secret", "ocma clicks secret --rotate")
@clicks.command("secret")
@workspace_option
@click.option("--rotate", is_flag=True, help="Replace the secret; the old one verifies for 24 hours more.")
@json_option
def secret(workspace: str | None, rotate: bool, as_json: bool) -> None:
    """Create (or rotate) the receiver's signing secret; it is printed this once."""
    from ocma_core.clicks.secret import make_secret

    ocma = context()
    ws = workspace_id(ocma, workspace)
    made = make_secret(ocma, ws, rotate=rotate)
    until = made.previous_valid_until
    record = {
        "secret": made.secret,
        "rotated": made.rotated,
        "previous_secret_valid_until": until.isoformat() if until else None,
        "url": ocma.settings.public_url.rstrip("/") + "/webhooks/analytics",
        "workspace_header": f"ocma-workspace: {ws}",
    }
    if as_json:
        emit_record(record, as_json=True)
        return
    click.echo(f"Secret (shown once; sign deliveries with it, Standard Webhooks): {made.secret}")
    if until is not None:
        click.echo(f"The previous secret verifies until {until.isoformat()}.")
    click.echo(f"Send to {record['url']} with header {record['workspace_header']} (docs/clicks.md).")


@examples("ocma clicks status", "ocma clicks status --json")
@clicks.command("status")
@workspace_option
@json_option
def status(workspace: str | None, as_json: bool) -> None:
    """Whether the receiver takes this workspace's clicks, and its last delivery."""
    from ocma_core.clicks.secret import hook_status

    ocma = context()
    found = hook_status(ocma, workspace_id(ocma, workspace))
    if not as_json and not found["configured"]:
        click.echo("No click receiver: create its secret with `ocma clicks secret`.")
        return
    emit_record(found, as_json=as_json)


@examples("ocma clicks remove-secret", "ocma clicks remove-secret --yes")
@clicks.command("remove-secret")
@workspace_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(workspace: str | None, yes: bool) -> None:
    """Stop taking clicks (deliveries are refused; recorded clicks stay)."""
    from ocma_core.clicks.secret import remove_secret

    if not yes:
        click.confirm("Refuse every click delivery for this workspace from now on?", abort=True)
    ocma = context()
    remove_secret(ocma, workspace_id(ocma, workspace))
    click.echo("The click receiver is off for this workspace.")


@examples("ocma clicks campaigns", "ocma clicks campaigns --period last-30-days --json")
@clicks.command("campaigns")
@workspace_option
@click.option("--period", default="last-week", show_default=True, help="last-week, 2026-03, FROM..TO, ...")
@json_option
def campaigns(workspace: str | None, period: str, as_json: bool) -> None:
    """Link clicks per UTM campaign over a period (days in the workspace's timezone)."""
    from ocma_core.analytics.reports import resolve_period
    from ocma_core.clicks.views import campaigns as per_campaign

    ocma = context()
    ws = workspace_id(ocma, workspace)
    found = per_campaign(ocma, ws, resolve_period(ocma, ws, period))
    if as_json:
        emit_record(found, as_json=True)
        return
    click.echo(found["summary"])
    rows = [
        {**c, "campaign": c["utm_campaign"] or "(none)", "n_posts": len(c["posts"])}
        for c in found["campaigns"]
    ]
    if rows:
        emit_list(
            rows,
            [
                Column("campaign", "campaign", "id"),
                Column("clicks", "clicks"),
                Column("on posts", "attributed_to_posts"),
                Column("posts", "n_posts"),
                Column("days", lambda r: len(r["days"])),
            ],
            as_json=False,
            empty="",
        )


@examples("ocma clicks post POST_ID", "ocma clicks post POST_ID --json")
@clicks.command("post")
@workspace_option
@click.argument("post_id")
@json_option
def post(workspace: str | None, post_id: str, as_json: bool) -> None:
    """One post's link clicks: total, per day and per UTM values."""
    from ocma_core.clicks.views import post_clicks

    ocma = context()
    found = post_clicks(ocma, workspace_id(ocma, workspace), post_id)
    if as_json:
        emit_record(found, as_json=True)
        return
    if not found["measured"]:
        click.echo("Link clicks are not measured: no click receiver is configured (`ocma clicks secret`).")
        return
    click.echo(f"Post {post_id}: {found['link_clicks']} link clicks recorded.")
    for day in found["by_day"]:
        click.echo(f"  {day['day']}: {day['clicks']}")
    for row in found["by_utm"]:
        click.echo(
            f"  campaign {row['utm_campaign'] or '-'}, source {row['utm_source'] or '-'}, "
            f"medium {row['utm_medium'] or '-'}: {row['clicks']}"
        )


@examples(
    "ocma clicks link https://shop.example/spring --post POST_ID --campaign spring --source linkedin",
    "ocma clicks link https://shop.example/spring --campaign spring --medium social",
)
@clicks.command("link")
@click.argument("url")
@click.option("--post", "post_id", default=None, help="The OCMA post id, sent as utm_content (attribution).")
@click.option("--campaign", default="", help="utm_campaign.")
@click.option("--source", default="", help="utm_source, e.g. the platform.")
@click.option("--medium", default="", help="utm_medium, e.g. social.")
def link(url: str, post_id: str | None, campaign: str, source: str, medium: str) -> None:
    """Print URL tagged with UTM parameters, so the clicks your analytics reports are attributed."""
    from ocma_core.clicks.links import tag_link

    click.echo(tag_link(url, post_id=post_id, campaign=campaign, source=source, medium=medium))
