"""init, serve, worker, status, db, keys."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ocma_core.cli.common import Column, context, emit_list, examples, json_option, print_json

if TYPE_CHECKING:
    from ocma_core.config import Settings
    from ocma_core.context import Ocma


SETTINGS_TEMPLATE = """\
# OCMA settings for every command started on this machine, wherever it starts (`ocma serve`, `ocma worker`,
# `ocma init`, `python3 dev.py ...`). The environment and a ./.env in the current directory override them.
# Any OCMA_<NAME> can also be read from a file with OCMA_<NAME>_FILE=/path (Docker and Kubernetes secrets).
# The encryption key is not here: it is in encryption.key beside this file (back both up).
#
# OCMA_PUBLIC_URL=https://ocma.example.com
# OCMA_X_CLIENT_ID=...
# OCMA_X_CLIENT_SECRET=...
"""


def _adopt_or_create_key(settings: Settings) -> str:
    """The sentence saying which encryption key `init` uses: the configured one, the key file, or a new one."""
    from ocma_core.crypto import load_or_create_keys

    if settings.encryption_keys:
        return f"Using the encryption keys from OCMA_ENCRYPTION_KEYS ({_keys_source_of(settings)})."
    existed = settings.key_file.exists()
    load_or_create_keys(None, settings.key_file, create=True)
    if existed:
        return f"Using the existing encryption key in {settings.key_file}."
    return (
        f"Created an encryption key in {settings.key_file} (mode 0600). Back it up with the database: "
        "without it stored tokens cannot be decrypted."
    )


def _keys_source_of(settings: Settings) -> str:
    """Where OCMA_ENCRYPTION_KEYS is set, for messages."""
    from ocma_core.settings_files import settings_layers, source_of

    return source_of("OCMA_ENCRYPTION_KEYS", settings_layers(data_dir=settings.data_dir)) or "this process"


def _write_settings_template(path: Path) -> bool:
    if path.exists():
        return False
    from ocma_core.crypto import make_private_dir

    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(SETTINGS_TEMPLATE)
    return True


@examples(
    'ocma init --workspace "Acme" --timezone Europe/Berlin',
    "ocma init",
)
@click.command()
@click.option(
    "--workspace", "name", default="My team", show_default=True, help="Name of the first workspace."
)
@click.option("--timezone", default="UTC", show_default=True, help="IANA timezone of the team.")
@click.option(
    "--owner-email", default="owner@localhost", show_default=True, help="E-mail of the workspace's owner."
)
def init(name: str, timezone: str, owner_email: str) -> None:
    """Create the encryption key (or adopt the existing one), the database, a workspace and an owner API key.

    Keys live in the data directory's key file (or OCMA_ENCRYPTION_KEYS); running init after `ocma serve`
    keeps the key serve created.
    """
    from ocma_core.config import load_settings
    from ocma_core.context import Ocma
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key, create_workspace, list_workspaces

    settings = load_settings()
    click.echo(_adopt_or_create_key(settings))
    if _write_settings_template(settings.settings_file):
        click.echo(f"Settings file: {settings.settings_file} (edit it to configure OCMA on this machine).")
    ocma = Ocma(settings)
    ocma.migrate(auto_upgrade_empty=True)
    from ocma_core.services.keys import check_secrets

    secrets = check_secrets(ocma)  # an install from before keys had one place may hold two
    if not secrets.ok:
        click.echo(f"Warning: {secrets.message()} {secrets.fix}", err=True)
    found = list_workspaces(ocma)
    if found:  # init sets up the first workspace once; more come from `ocma workspaces create`
        names = ", ".join(repr(w.name) for w in found)
        click.echo(
            f"OCMA is already set up (workspace {names}); nothing was created. Create a key with "
            "`ocma apikeys create`, or another workspace with `ocma workspaces create NAME`."
        )
        return
    workspace = create_workspace(ocma, name, timezone=timezone, owner_email=owner_email)
    created = create_api_key(ocma, workspace.id, name="owner (ocma init)", role=Role.OWNER)
    click.echo(f"Database: {ocma.settings.resolved_database_url}")
    click.echo(f"Workspace {workspace.name!r} created ({workspace.id}).")
    click.echo(f"Owner API key (shown once, store it now): {created.key}")
    click.echo("Next:")
    click.echo("  ocma accounts connect sandbox    # practise with no platform keys; prints an ACCOUNT_ID")
    click.echo('  ocma posts create "Hello" -a ACCOUNT_ID --now')
    click.echo("  ocma accounts connect bluesky    # a real account with an app password (no paid API)")
    click.echo(
        f"Platforms that use OAuth need their app credentials (e.g. OCMA_X_CLIENT_ID) in {settings.settings_file}"
        " and OCMA_PUBLIC_URL if OCMA is reachable from outside. Keep `ocma serve` running to publish; "
        "`ocma doctor` checks the whole setup."
    )


def startup_context(*, create_key: bool) -> Ocma:
    """The context `ocma serve` and `ocma worker` run on: settings, keys, a current schema (an empty database
    is created when `create_key`, i.e. for serve), and every stored secret readable — else a ConfigError."""
    from ocma_core.context import Ocma
    from ocma_core.services.keys import require_readable_secrets

    ocma = Ocma(create_key=create_key)
    _require_valid_platform_settings()
    ocma.migrate(auto_upgrade_empty=create_key)
    assert ocma.encryption_keys
    require_readable_secrets(ocma)
    return ocma


def _require_valid_platform_settings() -> None:
    """Refuse to serve or publish when an operator's setting for a platform is invalid (e.g.
    OCMA_MASTODON_MAX_CONCURRENCY=0): running on without that platform would leave its posts unpublished."""
    from ocma_core.errors import ConfigError
    from ocma_core.registry import PLATFORMS

    bad = PLATFORMS.config_errors()
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise ConfigError(
            " ".join(error.message for error in bad), fix=" ".join(error.fix for error in bad if error.fix)
        )


@examples("ocma serve", "ocma serve --host 0.0.0.0 --port 8080")
@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1, OCMA_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8000, OCMA_PORT).")
@click.option("--no-worker", is_flag=True, help="Do not run the embedded worker even without Redis.")
def serve(host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the HTTP API; without OCMA_REDIS_URL it also publishes (embedded queue and worker)."""
    import uvicorn

    from ocma_core.api.app import create_app
    from ocma_core.api.routes_stream import MAX_INCOMING
    from ocma_core.logs import configure_logging

    ocma = startup_context(create_key=True)
    configure_logging(ocma.settings.log_format, ocma.settings.log_level)
    host, port = host or ocma.settings.host, port or ocma.settings.port
    ocma.settings = served_settings(ocma.settings, host, port)
    # plugins that read the environment (the sandbox's page links) see the address this process serves
    os.environ.setdefault("OCMA_PUBLIC_URL", ocma.settings.public_url)
    app = create_app(ocma, run_worker=False if no_worker else None)
    # The event stream's frames: a client's message is at most MAX_INCOMING (refused before being read whole),
    # and no permessage-deflate (it would compress every event once per client: the fan-out's largest cost).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        ws_max_size=MAX_INCOMING,
        ws_per_message_deflate=False,
    )


def served_settings(settings: Settings, host: str, port: int) -> Settings:
    """Settings whose public URL is where `serve` listens, unless OCMA_PUBLIC_URL was set.

    Signed media links and OAuth callbacks are built from public_url; its default names port 8000, so
    `ocma serve --port 9000` would otherwise hand out links to a port nobody serves.
    """
    if "public_url" in settings.model_fields_set:
        return settings
    link_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    if ":" in link_host:
        link_host = f"[{link_host}]"
    return settings.model_copy(update={"public_url": f"http://{link_host}:{port}"})


def _worker_process(concurrency: int, metrics_port: int | None = None) -> None:
    import asyncio
    import signal

    from ocma_core.engine.worker import Worker
    from ocma_core.logs import configure_logging

    ocma = startup_context(create_key=False)
    configure_logging(ocma.settings.log_format, ocma.settings.log_level)
    if metrics_port:
        from ocma_core.observe.exporter import serve_metrics

        serve_metrics(metrics_port, ocma.settings.host)

    async def run() -> None:
        worker = Worker(ocma, concurrency=concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()

    asyncio.run(run())


def _concurrency_note(processes: int, concurrency: int) -> str:
    """What --concurrency means beside the platforms' caps on calls in flight per host (per process)."""
    from ocma_core.registry import get_platforms

    caps = ", ".join(f"{name} {p.max_concurrency}" for name, p in sorted(get_platforms().items()))
    return (
        f"{processes} process(es) x {concurrency} publishes in flight; calls in flight per host and process "
        f"are capped by each platform ({caps or 'no platform installed'})."
    )


@examples(
    "ocma worker",
    "ocma worker --processes 4 --concurrency 16",
    "ocma worker --processes 2 --metrics-port 9101  # /metrics on ports 9101 and 9102",
)
@click.command()
@click.option("--processes", "-p", type=int, default=2, show_default=True, help="Worker processes.")
@click.option(
    "--concurrency", "-c", type=int, default=None, help="Publishes in flight per process (default 32)."
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve each process's Prometheus metrics on this port and the next ones, on OCMA_HOST "
    "(default OCMA_METRICS_PORT; none when unset).",
)
def worker(processes: int, concurrency: int | None, metrics_port: int | None) -> None:
    """Run publishing workers (each process publishes many targets at once)."""
    import multiprocessing

    settings = startup_context(create_key=False).settings  # refuse to start before spawning
    conc = concurrency or settings.worker_concurrency
    port = metrics_port or settings.metrics_port
    if not settings.redis_url:
        click.echo(
            "OCMA_REDIS_URL is not set: workers find due posts from the database every second.", err=True
        )
    click.echo(_concurrency_note(processes, conc), err=True)
    if processes <= 1:
        _worker_process(conc, port)
        return
    import signal

    ctx = multiprocessing.get_context("spawn")
    children = [
        ctx.Process(target=_worker_process, args=(conc, port + i if port else None), daemon=False)
        for i in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, frame: object) -> None:
        for child in children:  # each child finishes its in-flight publishes, then exits
            if child.is_alive() and child.pid:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()


@examples("ocma status", "ocma status --json")
@click.command()
@json_option
def status(as_json: bool) -> None:
    """Queue depth, live workers, targets by status, database connections and the oldest overdue target."""
    from ocma_core.services.status import engine_status

    report = engine_status(context())
    if as_json:
        print_json(report)
        return
    queue = report["queue"]
    depth = "unreachable" if queue["depth"] is None else f"{queue['depth']} waiting"
    where = f", keys under {queue['namespace']}" if queue.get("namespace") else ""
    click.echo(f"Queue ({queue['kind']}{where}): {depth}")
    beyond = set(report["targets_beyond_count"])
    counts = (
        ", ".join(f"{n}{'+' if name in beyond else ''} {name}" for name, n in report["targets"].items())
        or "none"
    )
    click.echo(f"Targets: {counts}")
    db = report["database"]
    line = (
        f"Database ({db['backend']}): up to {db['per_process']} connections per process (OCMA_DB_POOL_SIZE), "
        f"{db['max_total']} for {db['processes']} processes (live workers and this one)"
    )
    if "server_max" in db:
        line += f"; the server allows {db['server_max']}, {db['open_now']} open now"
    click.echo(line + ".")
    overdue = report["oldest_overdue"]
    click.echo(
        f"Oldest overdue: {overdue['target_id']} due {overdue['due_at']}" if overdue else "Nothing overdue."
    )
    emit_list(
        report["workers"],
        [
            Column("worker", "id", kind="id"),
            Column("kind", "kind"),
            Column("last seen (UTC)", lambda w: datetime.fromisoformat(w["last_seen"])),
            Column("jobs", "jobs_done"),
        ],
        as_json=False,
        empty="No worker is running: start `ocma serve` (embedded worker) or `ocma worker`.",
    )


@click.group()
def db() -> None:
    """Database migrations."""


@examples("ocma db upgrade")
@db.command()
def upgrade() -> None:
    """Apply pending migrations (back up first); on PostgreSQL one deploy at a time (an advisory lock)."""
    from ocma_core.context import Ocma
    from ocma_core.db.migrate import current_revision, head_revision
    from ocma_core.db.migrate import upgrade as do_upgrade

    ocma = Ocma()
    before = current_revision(ocma.engine)

    def waiting() -> None:
        click.echo("Another process is migrating this database; waiting for it to finish.", err=True)

    do_upgrade(ocma.engine, on_wait=waiting)
    click.echo(f"Database at {head_revision()} (was {before or 'empty'}).")


@examples("ocma db new-installation-id", "ocma db new-installation-id --yes")
@db.command("new-installation-id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def new_installation_id(yes: bool) -> None:
    """Give this database a new identity (a copy of another installation's database needs one)."""
    from ocma_core.engine.namespace import installation_id
    from ocma_core.engine.namespace import new_installation_id as renew

    ocma = context()
    old = installation_id(ocma)
    if not yes:
        click.confirm(
            f"Installation {old}: take a new id? Its queued work is re-enqueued from the database by the "
            "workers; stop this database's workers first.",
            abort=True,
        )
    click.echo(f"Installation id {renew(ocma)} (was {old}); its Redis keys are now under the new namespace.")


@examples("ocma db current")
@db.command()
def current() -> None:
    """Show the database's migration and the newest one."""
    from ocma_core.context import Ocma
    from ocma_core.db.migrate import current_revision, head_revision

    ocma = Ocma()
    click.echo(f"current={current_revision(ocma.engine) or 'none'} head={head_revision()}")


@click.group()
def keys() -> None:
    """Encryption keys."""


@examples("ocma keys generate")
@keys.command()
def generate() -> None:
    """Print a new Fernet key."""
    from ocma_core.crypto import generate_key

    click.echo(generate_key())


@examples('ocma keys rotate  # with OCMA_ENCRYPTION_KEYS="NEW_KEY,OLD_KEY" set')
@keys.command()
def rotate() -> None:
    """Re-encrypt every stored secret with the newest key.

    Put the new key first (OCMA_ENCRYPTION_KEYS="new,old", or the new key on the first line of the key
    file), restart OCMA, run this, then remove the old key.
    """
    from ocma_core.services.keys import require_readable_secrets, rotate_all

    ocma = context()
    require_readable_secrets(ocma)
    count = rotate_all(ocma)
    click.echo(f"Re-encrypted {count} secrets with the newest key. You can now drop the old key.")


@examples("ocma keys check")
@keys.command()
def check() -> None:
    """Check that the keys in force decrypt every stored secret (database and data-directory files)."""
    from ocma_core.services.keys import check_secrets

    result = check_secrets(context())
    click.echo(result.message())
    if not result.ok:
        raise click.ClickException(result.fix)


@examples("ocma keys forget-unreadable  # then reconnect the accounts it names")
@keys.command("forget-unreadable")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget_unreadable_cmd(yes: bool) -> None:
    """Drop secrets no configured key decrypts (a lost key): their accounts need reconnecting."""
    from ocma_core.services.keys import check_secrets, forget_unreadable

    ocma = context()
    result = check_secrets(ocma)
    if result.ok:
        click.echo(result.message() + " Nothing to forget.")
        return
    click.echo(result.message())
    if not yes:
        click.confirm("Drop them? This cannot be undone (restoring the old key can)", abort=True)
    for where in forget_unreadable(ocma):
        click.echo(f"dropped {where}")
