"""ocma jobs: background rounds (metrics, weekly reports, expiring logins, webhooks) on rq queues."""

from __future__ import annotations

import click

from ocma_core.cli.common import context, examples
from ocma_core.cli.output import json_option, print_json, table


@click.group()
def jobs() -> None:
    """Background rounds as rq jobs (OCMA_BACKGROUND=rq with OCMA_REDIS_URL).

    \b
    Publishing workers schedule one round per kind and period for the whole installation;
    `ocma jobs work` runs them. With OCMA_BACKGROUND=inline (the default) they run inside `ocma worker`.
    """


@examples("ocma jobs work", "ocma jobs work --burst")
@jobs.command("work")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty (for cron or a test).")
def jobs_work(burst: bool) -> None:
    """Run an rq worker on this installation's job queues (high priority first)."""
    from ocma_core import jobs as svc

    ocma = context()
    if not svc.uses_rq(ocma):
        raise click.ClickException(
            "Background rounds run inside the publishing worker (OCMA_BACKGROUND=inline). "
            "Set OCMA_BACKGROUND=rq and OCMA_REDIS_URL to run them as rq jobs here."
        )
    click.echo(f"Working on {', '.join(svc.queue_name(ocma, p) for p in ('high', 'low'))} ...")
    svc.work(ocma, burst=burst)


@examples("ocma jobs status", "ocma jobs status --json")
@jobs.command("status")
@json_option
def jobs_status(as_json: bool) -> None:
    """Waiting, running, failed and finished jobs per queue (rq's own registries)."""
    from ocma_core import jobs as svc

    report = svc.status(context())
    if as_json:
        print_json(report)
        return
    if report["mode"] == "inline":
        click.echo(
            "Background rounds run inside the publishing worker (`ocma worker`, or the one `ocma serve` runs "
            "without Redis): OCMA_BACKGROUND=inline, no job queues."
        )
        return
    rows = [[q["name"], q["waiting"], q["started"], q["failed"], q["finished"]] for q in report["queues"]]
    table(["queue", "waiting", "running", "failed", "finished"], rows)
    click.echo("Failed jobs: rq info --url $OCMA_REDIS_URL " + " ".join(q["name"] for q in report["queues"]))
