"""Native database copies: SQLite through its online backup API, PostgreSQL through pg_dump and pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine, make_url

from ocma_core.errors import ConfigError
from ocma_core.logs import redact


def sqlite_file(url: str) -> Path:
    """The file of a SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigError("An in-memory SQLite database cannot be backed up.", fix="Use a database file.")
    return Path(database)


def dump_sqlite(url: str, dest: Path) -> None:
    """Copy a live SQLite database into `dest` with the online backup API (consistent while OCMA runs)."""
    source = sqlite3.connect(sqlite_file(url), timeout=30)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
    finally:
        target.close()
        source.close()


def load_sqlite(url: str, source_file: Path) -> None:
    """Replace the SQLite database at `url` with `source_file`, page by page in one transaction."""
    from ocma_core.db.engine import _create_private_file

    path = sqlite_file(url)
    _create_private_file(path)
    source = sqlite3.connect(source_file)
    target = sqlite3.connect(path, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries the password."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def pg_tool(name: str) -> str | None:
    """The path of pg_dump or pg_restore, when installed."""
    return shutil.which(name)


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = redact(done.stderr.strip() or done.stdout.strip())[-1500:]
        fix = "Fix the problem it names and run the command again."
        if "version mismatch" in detail:
            fix = (
                "Install the PostgreSQL client tools of the server's major version (e.g. postgresql-client-16), "
                "or use `--format portable`, which needs no client tools."
            )
        raise ConfigError(f"{what} failed (exit {done.returncode}): {detail}", fix=fix)


def dump_postgres(url: str, dest: Path) -> None:
    """pg_dump in its custom format (compressed, restorable with pg_restore)."""
    tool = pg_tool("pg_dump")
    if tool is None:
        raise ConfigError(
            "pg_dump is not installed.", fix="Install postgresql-client, or use --format portable."
        )
    conn, env = libpq_target(url)
    argv = [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={dest}", f"--dbname={conn}"]
    _run(argv, env, "pg_dump")


def load_postgres(url: str, source_file: Path, *, replace: bool) -> None:
    """pg_restore in one transaction (nothing half-restored); `replace` drops the objects it restores first."""
    tool = pg_tool("pg_restore")
    if tool is None:
        raise ConfigError(
            "pg_restore is not installed, and this backup was made with pg_dump.",
            fix="Install postgresql-client (the server's major version) and run the restore again.",
        )
    conn, env = libpq_target(url)
    argv = [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if replace:
        argv += ["--clean", "--if-exists"]
    _run([*argv, f"--dbname={conn}", str(source_file)], env, "pg_restore")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the database (tables OCMA's models do not know included)."""
    from sqlalchemy import MetaData, Table

    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            table = Table(name, MetaData())
            counts[name] = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    return counts
