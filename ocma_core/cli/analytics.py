"""`ocma metrics ...` (collect, backfill, best-time, predict, experiments, competitors) and `ocma report`."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import click

from ocma_core.cli.common import context, print_json, table, workspace_id, workspace_option


@click.group()
def metrics() -> None:
    """Collect metrics and analyse them (every figure from stored snapshots)."""


@metrics.command("collect")
@workspace_option
@click.option("--limit", default=500, show_default=True, help="At most this many items.")
def collect(workspace: str | None, limit: int) -> None:
    """Collect due post, account and competitor metrics now (respects rate limits)."""
    from ocma_core.services.metrics import collect_round

    ocma = context()
    ws = workspace_id(ocma, workspace)
    result = asyncio.run(collect_round(ocma, limit, workspace_id=ws))
    click.echo(
        f"Stored {result.stored} snapshots from {result.items} due items; {result.deferred} deferred "
        f"(rate limits), {result.failed} failed."
    )
    for error in result.errors[:20]:
        click.echo(f"  {error}", err=True)


@metrics.command("backfill")
@workspace_option
@click.option("--since", required=True, help="ISO date: posts published since then.")
@click.option("--account", "accounts", multiple=True, help="Only these account ids (repeat).")
def backfill(workspace: str | None, since: str, accounts: tuple[str, ...]) -> None:
    """Import the metrics the platforms still serve for posts published since DATE, with a progress bar."""
    from rich.progress import Progress

    from ocma_core.errors import ValidationFailed
    from ocma_core.services.metrics import backfill as run

    try:
        start = datetime.combine(date.fromisoformat(since), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(
            f"--since {since!r} is not an ISO date.", fix="Use e.g. --since 2026-01-01."
        ) from None
    ocma = context()
    ws = workspace_id(ocma, workspace)
    with Progress(transient=False) as progress:
        task = progress.add_task("Backfilling metrics", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = asyncio.run(run(ocma, ws, start, account_ids=list(accounts) or None, progress=update))
    click.echo(
        f"{report.posts_stored} post snapshots for {report.targets} posts, {report.accounts_stored} account "
        f"snapshots; {len(report.skipped)} skipped."
    )
    for line in report.skipped[:20]:
        click.echo(f"  {line}", err=True)


@metrics.command("best-time")
@workspace_option
@click.option("--platform", default=None)
@click.option("--account", default=None, help="Account id.")
@click.option("--json", "as_json", is_flag=True)
def best_time(workspace: str | None, platform: str | None, account: str | None, as_json: bool) -> None:
    """Best hours of the week per account, with intervals, supporting posts and the prior used."""
    from ocma_core.analytics.answers import best_times

    ocma = context()
    rows = best_times(ocma, workspace_id(ocma, workspace), platform=platform, account_id=account)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['account']}: {row['message']}")
        table(
            ["slot", "x typical", "90% interval", "P(better)", "posts (slot/hour/weekday)"],
            [
                [
                    s["label"],
                    f"{s['lift']:.2f}",
                    f"{s['lift_interval'][0]:.2f}-{s['lift_interval'][1]:.2f}",
                    f"{s['probability_better']:.0%}",
                    f"{s['posts_in_slot']}/{s['posts_same_hour']}/{s['posts_same_weekday']}",
                ]
                for s in row["top"]
            ],
        )


@metrics.command("predict")
@workspace_option
@click.option("--account", required=True, help="Account id.")
@click.option("--at", "at", default=None, help="Planned time, ISO 8601.")
@click.option("--media", default=0, show_default=True)
@click.option("--video", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@click.argument("text")
def predict(
    workspace: str | None, account: str, at: str | None, media: int, video: bool, as_json: bool, text: str
) -> None:
    """Forecast a draft's engagement from the account's own history, with the backtested error."""
    from ocma_core.analytics.base import make_context, now_period
    from ocma_core.analytics.registry import get_analyzer
    from ocma_core.services.workspaces import get_workspace

    ocma = context()
    ws = workspace_id(ocma, workspace)
    when = datetime.fromisoformat(at) if at else None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ctx = make_context(
        ocma,
        ws,
        now_period(get_workspace(ocma, ws).timezone),
        account_ids=[account],
        params={
            "account_id": account,
            "text": text,
            "media_count": media,
            "has_video": video,
            "scheduled_at": when,
        },
    )
    result = get_analyzer("prediction").run(ctx)
    if as_json:
        print_json(result)
    elif not result["can_predict"]:
        click.echo(f"Cannot predict yet: {result['reason']}")
    else:
        bt = result["backtest"]
        lo, hi = result["interval80"]
        click.echo(
            f"Expected {result['expected_rate']:.4g} {result['rate_name']} (80% interval {lo:.4g}-{hi:.4g}; "
            f"account typical {result['typical_rate']:.4g}). Backtest on {bt['posts_predicted']} posts: "
            f"typically within x{bt['median_error_factor']:.2f} (naive mean: x"
            f"{bt['naive_median_error_factor']:.2f}). {result['method']}."
        )


@click.command("report")
@workspace_option
@click.option(
    "--period",
    default="last-week",
    show_default=True,
    help="last-week, this-week, last-month, this-month, last-N-days, YYYY-MM, YYYY-Www, FROM..TO",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True
)
@click.option("--account", "accounts", multiple=True, help="Only these account ids (repeat).")
@click.option(
    "--chart",
    type=click.Choice(["engagement", "followers", "best_times"]),
    default=None,
    help="Also write this chart as PNG (see --out).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="PNG file for --chart."
)
def report(
    workspace: str | None,
    period: str,
    fmt: str,
    accounts: tuple[str, ...],
    chart: str | None,
    out: Path | None,
) -> None:
    """A weekly or monthly report from stored snapshots (text, JSON, or CSV of the posts)."""
    from ocma_core.analytics import reports

    ocma = context()
    ws = workspace_id(ocma, workspace)
    if fmt == "csv":
        click.echo(reports.to_csv(reports.export_rows(ocma, ws, period)), nl=False)
    else:
        data = reports.build_report(ocma, ws, period, account_ids=list(accounts) or None)
        click.echo(reports.to_json(data) if fmt == "json" else reports.render_text(data))
    if chart:
        from ocma_core.analytics import charts
        from ocma_core.analytics.base import make_context

        path = out or Path(f"ocma-{chart}.png")
        ctx = make_context(
            ocma, ws, reports.resolve_period(ocma, ws, period), account_ids=list(accounts) or None
        )
        path.write_bytes(charts.render(ctx, chart, account_id=accounts[0] if accounts else None))
        click.echo(f"Chart written to {path}", err=True)


@metrics.group("experiments")
def experiments() -> None:
    """A/B experiments: variants published as posts, judged from their metrics."""


@experiments.command("create")
@workspace_option
@click.argument("name")
@click.option(
    "--variant", "variants", multiple=True, required=True, help="LABEL=TEXT (repeat, at least two)."
)
@click.option("--account", "accounts", multiple=True, required=True, help="Account id (repeat).")
@click.option("--at", "times", multiple=True, help="ISO time for each variant in order (comparable slots).")
@click.option("--hypothesis", default="")
@click.option(
    "--min-lift", default=0.2, show_default=True, help="Smallest relative difference worth detecting."
)
def experiment_create(
    workspace: str | None,
    name: str,
    variants: tuple[str, ...],
    accounts: tuple[str, ...],
    times: tuple[str, ...],
    hypothesis: str,
    min_lift: float,
) -> None:
    """Create an experiment; each variant becomes a post (scheduled where --at gives a time)."""
    from ocma_core.analytics import experiments as svc
    from ocma_core.errors import ValidationFailed

    if times and len(times) != len(variants):
        raise ValidationFailed("Give one --at per --variant, or none.")
    specs = []
    for i, raw in enumerate(variants):
        label, sep, text = raw.partition("=")
        if not sep or not text.strip():
            raise ValidationFailed(f"--variant {raw!r} is not LABEL=TEXT.")
        when = datetime.fromisoformat(times[i]) if times else None
        specs.append(svc.VariantSpec(label.strip(), text.strip(), scheduled_at=when))
    ocma = context()
    exp = svc.create_experiment(
        ocma,
        workspace_id(ocma, workspace),
        name,
        specs,
        account_ids=list(accounts),
        hypothesis=hypothesis,
        min_lift=min_lift,
        created_by="cli",
    )
    click.echo(f"Experiment {exp.id} created with {len(specs)} variants.")


@experiments.command("list")
@workspace_option
def experiment_list(workspace: str | None) -> None:
    """Experiments and their last verdict."""
    from ocma_core.analytics import experiments as svc

    ocma = context()
    rows = svc.list_experiments(ocma, workspace_id(ocma, workspace))
    table(
        ["id", "name", "status", "verdict"],
        [[e.id, e.name, e.status, e.result.get("status", "-")] for e in rows],
    )


@experiments.command("evaluate")
@workspace_option
@click.argument("experiment_id")
def experiment_evaluate(workspace: str | None, experiment_id: str) -> None:
    """Judge an experiment now; prints the decision rule and the evidence."""
    from ocma_core.analytics import experiments as svc

    ocma = context()
    print_json(svc.evaluate(ocma, workspace_id(ocma, workspace), experiment_id))


@metrics.group("competitors")
def competitors() -> None:
    """Public metrics of competitor accounts, where the platform's API allows reading them."""


@competitors.command("add")
@workspace_option
@click.argument("platform")
@click.argument("handle")
@click.option("--via", "via", required=True, help="One of your account ids on that platform.")
def competitor_add(workspace: str | None, platform: str, handle: str, via: str) -> None:
    """Follow a competitor; its public metrics are then collected daily."""
    from ocma_core.analytics import competitors as svc

    ocma = context()
    row = svc.add_competitor(ocma, workspace_id(ocma, workspace), platform, handle, via)
    click.echo(f"Following {row.handle} on {row.platform} ({row.id}).")


@competitors.command("list")
@workspace_option
@click.option("--period", default="last-month", show_default=True)
def competitor_list(workspace: str | None, period: str) -> None:
    """Competitors beside your accounts on the same measures."""
    from ocma_core.analytics import competitors as svc
    from ocma_core.analytics.reports import resolve_period

    ocma = context()
    ws = workspace_id(ocma, workspace)
    p = resolve_period(ocma, ws, period)
    rows = svc.compare(ocma, ws, p.start, p.end)
    table(
        ["", "platform", "handle", "followers", "change", "posts/week", "snapshots"],
        [
            [
                r["kind"],
                r["platform"],
                r["handle"],
                r.get("followers"),
                r.get("followers_change"),
                f"{r['posts_per_week']:.1f}" if "posts_per_week" in r else None,
                r["snapshots"],
            ]
            for r in rows
        ],
    )


@competitors.command("remove")
@workspace_option
@click.argument("competitor_id")
def competitor_remove(workspace: str | None, competitor_id: str) -> None:
    """Stop following a competitor."""
    from ocma_core.analytics import competitors as svc

    ocma = context()
    svc.remove_competitor(ocma, workspace_id(ocma, workspace), competitor_id)
    click.echo("Removed.")
