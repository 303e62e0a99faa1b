"""init, serve, worker, status, db, keys."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from ocma_core.cli.common import Column, context, emit_list, examples, json_option, print_json


def _write_env(path: Path, values: dict[str, str]) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [f"{k}={v}" for k, v in values.items() if f"{k}=" not in existing]
    if lines:
        with path.open("a", encoding="utf-8") as handle:
            if existing and not existing.endswith("\n"):
                handle.write("\n")
            handle.write("\n".join(lines) + "\n")
        path.chmod(0o600)


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
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    default=Path(".env"),
    show_default=True,
    help="Where to write the encryption key.",
)
def init(name: str, timezone: str, owner_email: str, env_file: Path) -> None:
    """Write .env with a new encryption key, create the database, a workspace and an owner API key."""
    from ocma_core.config import check_env_file
    from ocma_core.context import Ocma
    from ocma_core.crypto import generate_key
    from ocma_core.db.models import Role
    from ocma_core.services.workspaces import create_api_key, create_workspace, list_workspaces

    check_env_file(env_file)
    if "OCMA_ENCRYPTION_KEYS" not in os.environ:
        _write_env(env_file, {"OCMA_ENCRYPTION_KEYS": generate_key()})
        click.echo(f"Wrote a new encryption key to {env_file} (keep it safe: it decrypts stored tokens).")
    ocma = Ocma(create_key=False)
    ocma.migrate(auto_upgrade_empty=True)
    existing = [w for w in list_workspaces(ocma) if w.name == name]
    if existing:
        click.echo(f"Workspace {name!r} already exists; create a key with `ocma apikeys create`.")
        return
    workspace = create_workspace(ocma, name, timezone=timezone, owner_email=owner_email)
    created = create_api_key(ocma, workspace.id, name="owner (ocma init)", role=Role.OWNER)
    click.echo(f"Database: {ocma.settings.resolved_database_url}")
    click.echo(f"Workspace {workspace.name!r} created ({workspace.id}).")
    click.echo(f"Owner API key (shown once, store it now): {created.key}")
    click.echo(
        "Next: set OCMA_PUBLIC_URL if OCMA is reachable from outside, add each platform's app credentials "
        "(e.g. OCMA_X_CLIENT_ID), then run `ocma serve` and connect accounts with `ocma accounts connect`."
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
    from ocma_core.context import Ocma
    from ocma_core.logs import configure_logging

    ocma = Ocma(create_key=True)
    configure_logging(ocma.settings.log_format, ocma.settings.log_level)
    app = create_app(ocma, run_worker=False if no_worker else None)
    uvicorn.run(app, host=host or ocma.settings.host, port=port or ocma.settings.port, log_config=None)


def _worker_process(concurrency: int) -> None:
    import asyncio
    import signal

    from ocma_core.context import Ocma
    from ocma_core.engine.worker import Worker
    from ocma_core.logs import configure_logging

    ocma = Ocma()
    configure_logging(ocma.settings.log_format, ocma.settings.log_level)
    ocma.migrate(auto_upgrade_empty=False)

    async def run() -> None:
        worker = Worker(ocma, concurrency=concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()

    asyncio.run(run())


@examples("ocma worker", "ocma worker --processes 4 --concurrency 16")
@click.command()
@click.option("--processes", "-p", type=int, default=2, show_default=True, help="Worker processes.")
@click.option(
    "--concurrency", "-c", type=int, default=None, help="Publishes in flight per process (default 32)."
)
def worker(processes: int, concurrency: int | None) -> None:
    """Run publishing workers (each process publishes many targets at once)."""
    import multiprocessing

    from ocma_core.context import Ocma

    settings = Ocma().settings
    conc = concurrency or settings.worker_concurrency
    if not settings.redis_url:
        click.echo(
            "OCMA_REDIS_URL is not set: workers find due posts from the database every second.", err=True
        )
    if processes <= 1:
        _worker_process(conc)
        return
    import signal

    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_worker_process, args=(conc,), daemon=False) for _ in range(processes)]
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
    """Queue depth, live workers, targets by status and the oldest overdue target."""
    from ocma_core.services.status import engine_status

    report = engine_status(context())
    if as_json:
        print_json(report)
        return
    queue = report["queue"]
    depth = "unreachable" if queue["depth"] is None else f"{queue['depth']} waiting"
    click.echo(f"Queue ({queue['kind']}): {depth}")
    counts = ", ".join(f"{n} {name}" for name, n in report["targets"].items()) or "none"
    click.echo(f"Targets: {counts}")
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
    """Apply pending migrations (back up first)."""
    from ocma_core.context import Ocma
    from ocma_core.db.migrate import current_revision, head_revision
    from ocma_core.db.migrate import upgrade as do_upgrade

    ocma = Ocma()
    before = current_revision(ocma.engine)
    do_upgrade(ocma.engine)
    click.echo(f"Database at {head_revision()} (was {before or 'empty'}).")


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
    """Re-encrypt every stored secret with the newest key (OCMA_ENCRYPTION_KEYS="new,old")."""
    from ocma_core.services.keys import rotate_all

    ocma = context()
    count = rotate_all(ocma)
    click.echo(f"Re-encrypted {count} secrets with the newest key. You can now drop the old key.")
