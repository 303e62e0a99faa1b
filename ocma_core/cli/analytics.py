"""`ocma metrics ...` (collect, backfill, best-time, predict, experiments, competitors) and `ocma report`."""

from __future__ import annotations

import asyncio
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ocma_core.cli.common import (
    Column,
    context,
    emit_list,
    emit_record,
    examples,
    json_option,
    print_json,
    table,
    workspace_id,
    workspace_option,
)


@click.group()
def metrics() -> None:
    """Collect metrics and analyse them (every figure from stored snapshots)."""


@examples("ocma metrics collect", "ocma metrics collect --limit 50")
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


@examples("ocma metrics import-history ACCOUNT_ID", "ocma metrics import-history ACCOUNT_ID --since 365d")
@metrics.command("import-history")
@workspace_option
@click.argument("account")
@click.option("--since", default=None, help="Only posts published since: an ISO date or how long ago (90d).")
def import_history(workspace: str | None, account: str, since: str | None) -> None:
    """Import ACCOUNT's past posts and their current metrics from the platform (idempotent, resumable)."""
    from rich.progress import Progress

    from ocma_core.analytics.history_import import import_history as run
    from ocma_core.services.accounts import get_account
    from ocma_core.when import parse_since

    ocma = context()
    ws = workspace_id(ocma, workspace)
    get_account(ocma, ws, account)  # the account must be this workspace's
    start = parse_since(since, "UTC") if since else None
    with Progress(transient=False) as progress:
        task = progress.add_task("Importing past posts", total=None)
        report = asyncio.run(run(ocma, account, start, progress=lambda n: progress.update(task, completed=n)))
    click.echo(
        f"{report.listed} past posts listed, {report.created} new, {report.metrics_stored} metric snapshots "
        "stored (source: import). Run again to resume; nothing is imported twice."
    )
    for line in report.skipped[:20]:
        click.echo(f"  skipped {line}", err=True)


@examples(
    "ocma metrics backfill --since 30d", "ocma metrics backfill --since 2025-01-01 --account ACCOUNT_ID"
)
@metrics.command("backfill")
@workspace_option
@click.option(
    "--since",
    required=True,
    help="Posts published since: an ISO date (2025-01-01) or how long ago (30d, 2w).",
)
@click.option("--account", "accounts", multiple=True, help="Only these account ids (repeat).")
def backfill(workspace: str | None, since: str, accounts: tuple[str, ...]) -> None:
    """Import the metrics the platforms still serve for posts published since --since, with a progress bar."""
    from rich.progress import Progress

    from ocma_core.services.metrics import backfill as run
    from ocma_core.services.workspaces import get_workspace
    from ocma_core.when import parse_since

    ocma = context()
    ws = workspace_id(ocma, workspace)
    start = parse_since(since, get_workspace(ocma, ws).timezone)
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


@examples("ocma metrics best-time", "ocma metrics best-time --platform x --json")
@metrics.command("best-time")
@workspace_option
@click.option("--platform", default=None, help="Only accounts on this platform.")
@click.option("--account", default=None, help="Only this account id.")
@json_option
def best_time(workspace: str | None, platform: str | None, account: str | None, as_json: bool) -> None:
    """Best hours of the week per account, when timing measurably matters, with intervals and posts."""
    from ocma_core.analytics.answers import best_times

    ocma = context()
    rows = best_times(ocma, workspace_id(ocma, workspace), platform=platform, account_id=account)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No account to analyse: connect one with `ocma accounts connect PLATFORM`.")
    for row in rows:
        click.echo(f"{row['account']}: {row['message']}")
        if row["basis"] != "measured":  # every slot is 1.00x: no table of made-up differences
            continue
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


@examples(
    'ocma metrics predict --account ACCOUNT_ID "Our spring collection is here"',
    'ocma metrics predict --account ACCOUNT_ID --at "friday 18:00" --media 1 "New menu!"',
)
@metrics.command("predict")
@workspace_option
@click.option("--account", required=True, help="Account id whose history the forecast uses.")
@click.option(
    "--at",
    "at",
    default=None,
    help="Planned time: 2026-03-03T09:00, 'tomorrow 09:00', 'in 2h' (default: now).",
)
@click.option("--media", default=0, show_default=True, help="How many images the post carries.")
@click.option("--video", is_flag=True, help="The post carries a video.")
@json_option
@click.argument("text")
def predict(
    workspace: str | None, account: str, at: str | None, media: int, video: bool, as_json: bool, text: str
) -> None:
    """Forecast a draft's engagement from the account's own history, with the backtested error."""
    from ocma_core.analytics.base import make_context, now_period
    from ocma_core.analytics.registry import get_analyzer
    from ocma_core.services.workspaces import get_workspace
    from ocma_core.when import parse_when

    ocma = context()
    ws = workspace_id(ocma, workspace)
    zone = get_workspace(ocma, ws).timezone
    when = parse_when(at, zone) if at else None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    ctx = make_context(
        ocma,
        ws,
        now_period(zone),
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
            f"Expected {result['expected_rate']:.4g} {result['rate_name']} (80% interval {lo:.4g}-{hi:.4g}), "
            f"from {result['method']}. {result['message']} Backtest on {bt['posts_predicted']} posts: the "
            f"recent average was typically within x{bt['naive_median_error_factor']:.2f}"
            + (
                f", the model within x{bt['median_error_factor']:.2f}."
                if "median_error_factor" in bt
                else "."
            )
        )


@examples(
    "ocma report",
    "ocma report --period last-month --format json",
    "ocma report --period last-30-days --chart engagement --out engagement.png",
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
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="text for people, json for programs, csv: one row per post.",
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


@examples(
    'ocma metrics experiments create "Emoji or not" --variant A="New in store" --variant B="New in store ✨" '
    '-a ACCOUNT_ID --at "tuesday 10:00" --at "wednesday 10:00"',
)
@experiments.command("create")
@workspace_option
@click.argument("name")
@click.option(
    "--variant", "variants", multiple=True, required=True, help="LABEL=TEXT (repeat, at least two)."
)
@click.option("--account", "-a", "accounts", multiple=True, required=True, help="Account id (repeat).")
@click.option(
    "--at",
    "times",
    multiple=True,
    help="When each variant goes out, in order (comparable slots): 2026-03-03T10:00, 'tuesday 10:00', 'in 2h'.",
)
@click.option("--hypothesis", default="", help="What you expect and why, kept with the result.")
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
    from ocma_core.services.workspaces import get_workspace
    from ocma_core.when import parse_when

    if times and len(times) != len(variants):
        raise ValidationFailed("Give one --at per --variant, or none.", fix="Repeat --at once per --variant.")
    ocma = context()
    ws = workspace_id(ocma, workspace)
    zone = get_workspace(ocma, ws).timezone
    specs = []
    for i, raw in enumerate(variants):
        label, sep, text = raw.partition("=")
        if not sep or not text.strip():
            raise ValidationFailed(
                f"--variant {raw!r} is not LABEL=TEXT.", fix='Write e.g. --variant A="New in store".'
            )
        when = parse_when(times[i], zone) if times else None
        specs.append(svc.VariantSpec(label.strip(), text.strip(), scheduled_at=when))
    exp = svc.create_experiment(
        ocma,
        ws,
        name,
        specs,
        account_ids=list(accounts),
        hypothesis=hypothesis,
        min_lift=min_lift,
        created_by="cli",
    )
    click.echo(f"Experiment {exp.id} created with {len(specs)} variants.")


@examples("ocma metrics experiments list", "ocma metrics experiments list --json")
@experiments.command("list")
@workspace_option
@json_option
def experiment_list(workspace: str | None, as_json: bool) -> None:
    """Experiments and their last verdict."""
    from ocma_core.analytics import experiments as svc

    ocma = context()
    rows = [
        {
            "id": e.id,
            "name": e.name,
            "status": e.status,
            "verdict": e.result.get("status"),
            "winner_variant_id": e.winner_variant_id,
            "hypothesis": e.hypothesis,
            "created_at": e.created_at,
            "decided_at": e.decided_at,
        }
        for e in svc.list_experiments(ocma, workspace_id(ocma, workspace))
    ]
    emit_list(
        rows,
        [
            Column("id", "id", kind="id"),
            Column("name", "name", kind="text"),
            Column("status", "status"),
            Column("verdict", lambda r: r["verdict"] or "-"),
        ],
        as_json=as_json,
        empty="No experiments yet: ocma metrics experiments create --help shows how.",
    )


@examples(
    "ocma metrics experiments evaluate EXPERIMENT_ID",
    "ocma metrics experiments evaluate EXPERIMENT_ID --json",
)
@experiments.command("evaluate")
@workspace_option
@click.argument("experiment_id")
@json_option
def experiment_evaluate(workspace: str | None, experiment_id: str, as_json: bool) -> None:
    """Judge EXPERIMENT_ID now; prints the decision rule and the evidence."""
    from ocma_core.analytics import experiments as svc

    ocma = context()
    emit_record(svc.evaluate(ocma, workspace_id(ocma, workspace), experiment_id), as_json=as_json)


@metrics.group("competitors")
def competitors() -> None:
    """Public metrics of competitor accounts, where the platform's API allows reading them."""


@examples("ocma metrics competitors add bluesky rival.bsky.social --via ACCOUNT_ID")
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


@examples("ocma metrics competitors list", "ocma metrics competitors list --period last-week --json")
@competitors.command("list")
@workspace_option
@click.option(
    "--period",
    default="last-month",
    show_default=True,
    help="Period to compare (the forms of `ocma report`).",
)
@json_option
def competitor_list(workspace: str | None, period: str, as_json: bool) -> None:
    """Competitors beside your accounts on the same measures."""
    from ocma_core.analytics import competitors as svc
    from ocma_core.analytics.reports import resolve_period

    ocma = context()
    ws = workspace_id(ocma, workspace)
    p = resolve_period(ocma, ws, period)
    emit_list(
        svc.compare(ocma, ws, p.start, p.end),
        [
            Column("", "kind"),
            Column("id", "id", kind="id"),
            Column("platform", "platform"),
            Column("handle", "handle", kind="id"),
            Column("followers", "followers"),
            Column("change", "followers_change"),
            Column("posts/week", lambda r: f"{r['posts_per_week']:.1f}" if "posts_per_week" in r else None),
            Column("snapshots", "snapshots"),
        ],
        as_json=as_json,
        empty="No competitors or accounts to compare: ocma metrics competitors add PLATFORM HANDLE --via ID.",
    )


@examples("ocma metrics competitors remove COMPETITOR_ID")
@competitors.command("remove")
@workspace_option
@click.argument("competitor_id")
def competitor_remove(workspace: str | None, competitor_id: str) -> None:
    """Stop following a competitor."""
    from ocma_core.analytics import competitors as svc

    ocma = context()
    svc.remove_competitor(ocma, workspace_id(ocma, workspace), competitor_id)
    click.echo("Removed.")
