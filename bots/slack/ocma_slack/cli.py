"""`ocma slack --socket` (Socket Mode, no public URL needed) and `ocma slack report`."""

from __future__ import annotations

import click

from ocma_core.app.cli import examples


@examples("ocma slack --socket", "ocma slack  # how to run the bot over HTTP instead")
@click.group(invoke_without_command=True)
@click.option("--socket", is_flag=True, help="Connect over Socket Mode (needs OCMA_SLACK_APP_TOKEN).")
@click.pass_context
def slack(ctx: click.Context, socket: bool) -> None:
    """Run the Slack bot over Socket Mode, or send the weekly report."""
    if ctx.invoked_subcommand is not None:
        return
    if not socket:
        click.echo(ctx.get_help())
        click.echo("\nHTTP mode needs no command: `ocma serve` mounts /slack/events.")
        return
    from ocma_core.app import Ocma
    from ocma_core.errors import ConfigError
    from ocma_slack.config import SlackConfig
    from ocma_slack.runtime import runtime_for
    from ocma_slack.socket_mode import serve

    config = SlackConfig.from_env()
    try:
        runtime = runtime_for(Ocma(), config, socket=True)
        click.echo("Connecting to Slack over Socket Mode…")
        serve(runtime)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc  # the message and its fix


@examples("ocma slack report", "ocma slack report --channel C0123456789")
@slack.command("report")
@click.option("--workspace", default=None, help="OCMA workspace (name or id).")
@click.option("--channel", default=None, help="Slack channel id (default: the notification channel).")
def report(workspace: str | None, channel: str | None) -> None:
    """Post last week's performance report with charts (from stored metrics) to Slack."""
    from ocma_core.app import Ocma
    from ocma_core.app.workspaces import resolve_workspace
    from ocma_slack import store
    from ocma_slack.config import SlackConfig
    from ocma_slack.notify import weekly_report
    from ocma_slack.runtime import runtime_for

    ocma = Ocma()
    workspace_id = resolve_workspace(ocma, workspace).id
    runtime = runtime_for(ocma, SlackConfig.from_env())
    target = channel or store.notification_channel(ocma, workspace_id, runtime.config)
    client = runtime.sync_client(workspace_id)
    if not target or client is None:
        raise click.ClickException("No channel or token: set OCMA_SLACK_CHANNEL and connect Slack first.")
    click.echo(weekly_report(ocma, client, workspace_id, target))
